// Where every partition of a hub ends, as Event Hubs reports it (getPartitionProperties), -1 for an
// empty one: compared before and after, it shows that nothing was published, or says exactly how
// many events to read back.
import { EventHubConsumerClient } from '@azure/event-hubs';

/** Partition id -> sequence number of its last event. */
export type PartitionEnds = Record<string, number>;

export async function partitionEnds(connectionString: string, hub: string): Promise<PartitionEnds> {
  const client = new EventHubConsumerClient('$default', connectionString, hub);
  try {
    const ends: PartitionEnds = {};
    for (const id of await client.getPartitionIds()) {
      const properties = await client.getPartitionProperties(id);
      ends[id] = properties.isEmpty ? -1 : properties.lastEnqueuedSequenceNumber;
    }
    return ends;
  } finally {
    await client.close();
  }
}
