// The SDK's event processor on the emulator with blob checkpoints in a real Azurite: resume
// without duplicates or gaps, and two consumers sharing (and taking over) the partitions.
import {
  earliestEventPosition,
  EventHubConsumerClient,
  EventHubProducerClient,
  type ReceivedEventData,
  type Subscription,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { ContainerClient } from '@azure/storage-blob';
import { type RunningAzurite, startAzurite } from '../../../local/azurite';
import { startEmulatorInProcess, type InProcessEmulator } from './helpers';
import { tempDir } from '../../support/tempDir';
import { waitFor } from '../../support/waitFor';

jest.setTimeout(60_000);

const LOAD_BALANCING = { updateIntervalInMs: 300, partitionOwnershipExpirationIntervalInMs: 2000 };

describe('emulator with a blob checkpoint store (Azurite)', () => {
  const azuriteDir = tempDir('azurite');
  let azurite: RunningAzurite;
  let emulator: InProcessEmulator;
  let producer: EventHubProducerClient;
  let containerIndex = 0;

  beforeAll(async () => {
    [azurite, emulator] = await Promise.all([
      startAzurite({ location: azuriteDir.path, blobPort: 0, queuePort: 0, tablePort: 0 }),
      startEmulatorInProcess(),
    ]);
    producer = new EventHubProducerClient(emulator.connectionString, 'events');
  });

  afterAll(async () => {
    await producer.close();
    await emulator.stop();
    await azurite.stop();
    azuriteDir.remove();
  });

  async function checkpointStore(): Promise<BlobCheckpointStore> {
    const container = new ContainerClient(azurite.connectionString, `checkpoints-${++containerIndex}`);
    await container.create();
    return new BlobCheckpointStore(container);
  }

  /** Sends `count` numbered events spread over all partitions. */
  async function sendNumbered(from: number, count: number): Promise<void> {
    const ids = await producer.getPartitionIds();
    for (let i = from; i < from + count; i++) {
      await producer.sendBatch([{ body: i }], { partitionId: ids[i % ids.length] });
    }
  }

  function subscribeAll(
    client: EventHubConsumerClient,
    received: ReceivedEventData[],
    owned = new Set<string>(),
  ): Subscription {
    return client.subscribe(
      {
        processInitialize: async (context) => void owned.add(context.partitionId),
        processClose: async (_reason, context) => void owned.delete(context.partitionId),
        processEvents: async (events, context) => {
          received.push(...events);
          if (events.length) await context.updateCheckpoint(events[events.length - 1]);
        },
        processError: async () => undefined,
      },
      { maxWaitTimeInSeconds: 1, maxBatchSize: 50, startPosition: earliestEventPosition },
    );
  }

  test('a consumer that stops and resumes continues after its checkpoints: no duplicates, no gaps', async () => {
    const store = await checkpointStore();
    await sendNumbered(0, 40);

    const firstRun: ReceivedEventData[] = [];
    const first = new EventHubConsumerClient('$default', emulator.connectionString, 'events', store, {
      loadBalancingOptions: LOAD_BALANCING,
    });
    const firstSubscription = subscribeAll(first, firstRun);
    await waitFor(() => firstRun.length >= 40, {
      what: 'the first run to receive 40 events',
      timeoutMs: 15_000,
    });
    await firstSubscription.close();
    await first.close();

    await sendNumbered(40, 20);
    const secondRun: ReceivedEventData[] = [];
    const second = new EventHubConsumerClient('$default', emulator.connectionString, 'events', store, {
      loadBalancingOptions: LOAD_BALANCING,
    });
    const secondSubscription = subscribeAll(second, secondRun);
    await waitFor(() => secondRun.length >= 20, {
      what: 'the second run to receive 20 events',
      timeoutMs: 15_000,
    });
    // A marker behind them on every partition: a duplicate delivered late would arrive before it.
    await sendNumbered(9000, 4);
    await waitFor(() => bodiesFrom([secondRun], 9000).length === 4, {
      what: 'the marker event of every partition',
      timeoutMs: 15_000,
    });
    const checkpoints = () => store.listCheckpoints(second.fullyQualifiedNamespace, 'events', '$default');
    await waitFor(async () => (await checkpoints()).filter((c) => c.sequenceNumber === 15).length === 4, {
      what: 'a checkpoint at sequence number 15 on every partition',
      timeoutMs: 15_000,
    });
    await secondSubscription.close();
    await second.close();

    expect(firstRun.map((e) => e.body).sort(numeric)).toEqual(range(0, 40));
    expect(bodiesFrom([secondRun], 0).sort(numeric)).toEqual(range(40, 20));
    expect(secondRun).toHaveLength(24);
    for (const checkpoint of await checkpoints()) expect(typeof checkpoint.offset).toBe('string');
  });

  test('two consumers share the partitions and one takes over when the other stops', async () => {
    const store = await checkpointStore();
    const [receivedA, receivedB]: ReceivedEventData[][] = [[], []];
    const [ownedA, ownedB] = [new Set<string>(), new Set<string>()];
    const clientA = new EventHubConsumerClient('$default', emulator.connectionString, 'events', store, {
      loadBalancingOptions: LOAD_BALANCING,
    });
    const clientB = new EventHubConsumerClient('$default', emulator.connectionString, 'events', store, {
      loadBalancingOptions: LOAD_BALANCING,
    });
    try {
      const subscriptionA = subscribeAll(clientA, receivedA, ownedA);
      await waitFor(() => ownedA.size === 4, {
        what: 'consumer A to own every partition',
        timeoutMs: 15_000,
      });
      // B joins and takes two partitions from A: equal owner levels, so the service lets B's
      // receivers steal A's links.
      const subscriptionB = subscribeAll(clientB, receivedB, ownedB);
      await waitFor(() => ownedA.size === 2 && ownedB.size === 2, {
        what: 'A and B to own two partitions each',
        timeoutMs: 15_000,
      });
      expect(emulator.logs.join('\n')).toMatch(/amqp:link:stolen/);
      expect(new Set([...ownedA, ...ownedB])).toEqual(new Set(['0', '1', '2', '3']));
      await sendNumbered(1000, 8);
      await waitFor(() => bodiesFrom([receivedA, receivedB], 1000).length === 8, {
        what: 'the events sent while A and B shared the hub',
        timeoutMs: 15_000,
      });
      expect(bodiesFrom([receivedA], 1000).length).toBeGreaterThan(0);
      expect(bodiesFrom([receivedB], 1000).length).toBeGreaterThan(0);

      // B stops: A claims B's partitions once B's ownership expires, and resumes at B's checkpoints.
      await subscriptionB.close();
      await clientB.close();
      await waitFor(() => ownedA.size === 4, {
        what: 'consumer A to own every partition again',
        timeoutMs: 15_000,
      });
      await sendNumbered(2000, 8);
      await waitFor(() => bodiesFrom([receivedA], 2000).length === 8, {
        what: 'the events sent after B stopped',
        timeoutMs: 15_000,
      });
      // A marker behind them on every partition: a duplicate delivered late would arrive before it.
      await sendNumbered(3000, 4);
      await waitFor(() => bodiesFrom([receivedA], 3000).length === 4, {
        what: 'the marker event of every partition',
        timeoutMs: 15_000,
      });
      await subscriptionA.close();

      // Every event was delivered exactly once across the two consumers.
      expect(bodiesFrom([receivedA, receivedB], 1000).sort(numeric)).toEqual(range(1000, 8));
      expect(bodiesFrom([receivedA, receivedB], 2000).sort(numeric)).toEqual(range(2000, 8));
    } finally {
      await clientA.close();
      await clientB.close();
    }
  });
});

/** Bodies in [from, from + 1000) across the given receive logs. */
function bodiesFrom(logs: ReceivedEventData[][], from: number): number[] {
  return logs
    .flat()
    .map((e) => e.body as number)
    .filter((n) => n >= from && n < from + 1000);
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

function numeric(a: unknown, b: unknown): number {
  return (a as number) - (b as number);
}
