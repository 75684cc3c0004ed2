// Issue 16: EventHubConsumerClient.close() while events still flow to every partition. The client's
// rhea detaches and ends each partition's session while transfers are in flight; the emulator must
// then send nothing on a detached link (amqp/unsentDeliveries.ts) and not close the connection for
// the session flow the client sends after its end (amqp/missingSessions.ts). Either fault left one
// partition's receive uncancelled and close() waiting forever (about 1 close in 3 here before the fix).
import { earliestEventPosition, EventHubConsumerClient, EventHubProducerClient } from '@azure/event-hubs';
import { startEmulatorInProcess, type InProcessEmulator } from './helpers';

const EVENTS_PER_PARTITION = 5_000;
const STOP_AFTER = 5_000;
const ROUNDS = 6;
/** A generous bound that turns a hang into a failure; a close normally takes milliseconds. */
const CLOSE_DEADLINE_MS = 3_000;

let emulator: InProcessEmulator;

beforeAll(async () => {
  emulator = await startEmulatorInProcess({ logLevel: 'info' });
  const producer = new EventHubProducerClient(emulator.connectionString, 'events');
  try {
    for (const partitionId of await producer.getPartitionIds()) {
      for (let sent = 0; sent < EVENTS_PER_PARTITION;) {
        const batch = await producer.createBatch({ partitionId });
        while (sent < EVENTS_PER_PARTITION && batch.tryAdd({ body: `event ${sent}`.padEnd(100, '.') }))
          sent++;
        await producer.sendBatch(batch);
      }
    }
  } finally {
    await producer.close();
  }
});

afterAll(async () => {
  await emulator?.stop();
});

test('close() returns when called while every partition is still receiving', async () => {
  const outcomes: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const consumer = new EventHubConsumerClient('$default', emulator.connectionString, 'events');
    let received = 0;
    await new Promise<void>((resolve) => {
      consumer.subscribe(
        {
          processEvents: async (events) => {
            received += events.length;
            if (received >= STOP_AFTER) resolve();
          },
          processError: async () => undefined,
        },
        { startPosition: earliestEventPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 1 },
      );
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      consumer.close().then(() => 'closed'),
      new Promise<string>(
        (resolve) => (timer = setTimeout(() => resolve('close() hung'), CLOSE_DEADLINE_MS)),
      ),
    ]).finally(() => clearTimeout(timer));
    outcomes.push(outcome);
  }
  expect(outcomes).toEqual(Array(ROUNDS).fill('closed'));
  expect(emulator.logs.join('\n')).not.toMatch(/protocol fault|internal error/);
});
