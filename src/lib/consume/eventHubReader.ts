// Reads single events and partition properties from the hub, for measuring lag, rewinding checkpoints
// and replaying events by their coordinates. It reads through the `$Default` consumer group with a
// plain (non-owner) receiver: the Functions host holds owner-level (epoch) receivers on the app's own
// consumer group, and Event Hubs refuses a receiver without an owner level next to one
// (ReceiverDisconnectedError), so reading there would fail while the app runs.
import {
  EventHubConsumerClient,
  type EventPosition,
  type PartitionProperties,
  type ReceivedEventData,
} from '@azure/event-hubs';
import { createCredential } from '../credentials';
import { SETTING_NAMES, readEventHubSettings, SettingsError, type Environment } from '../settings';

export const READER_CONSUMER_GROUP = '$Default';

/** How long to wait for an event that should be there before concluding there is none. */
const READ_WAIT_SECONDS = 5;

export function createReaderClient(env: Environment): EventHubConsumerClient {
  const settings = readEventHubSettings(env);
  if (settings.kind === 'identity') {
    return new EventHubConsumerClient(
      READER_CONSUMER_GROUP,
      settings.fullyQualifiedNamespace,
      settings.eventHubName,
      createCredential(settings.identity),
    );
  }
  try {
    return new EventHubConsumerClient(
      READER_CONSUMER_GROUP,
      settings.connectionString,
      settings.eventHubName,
    );
  } catch {
    // The SDK's own message quotes the whole connection string, key included.
    throw new SettingsError(
      SETTING_NAMES.eventHubConnection,
      `${SETTING_NAMES.eventHubConnection} is not a valid Event Hubs connection string`,
    );
  }
}

/** Every partition's properties, in partition id order. */
export async function readPartitions(client: EventHubConsumerClient): Promise<PartitionProperties[]> {
  const ids = await client.getPartitionIds();
  return Promise.all(ids.map((id) => client.getPartitionProperties(id)));
}

/**
 * The first event at `position` (bodies as stored: bytes, never parsed), or null when none arrives
 * within a few seconds (the position is past the end, or the partition is empty).
 */
export function readEvent(
  client: EventHubConsumerClient,
  partitionId: string,
  position: EventPosition,
): Promise<ReceivedEventData | null> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      void subscription.close().then(outcome, outcome);
    };
    const subscription = client.subscribe(
      partitionId,
      {
        processEvents: async (events) => finish(() => resolve(events[0] ?? null)),
        processError: async (error) => finish(() => reject(error)),
      },
      {
        startPosition: position,
        maxBatchSize: 1,
        maxWaitTimeInSeconds: READ_WAIT_SECONDS,
        skipParsingBodyAsJson: true,
      },
    );
  });
}

/** The event with exactly this sequence number, or null when it is no longer (or not yet) in the hub. */
export async function readEventAt(
  client: EventHubConsumerClient,
  partitionId: string,
  sequenceNumber: number,
): Promise<ReceivedEventData | null> {
  const event = await readEvent(client, partitionId, { sequenceNumber, isInclusive: true });
  return event?.sequenceNumber === sequenceNumber ? event : null;
}
