// Receiving: every starting position the SDK emits, live delivery, runtime metrics, epoch
// (owner level) semantics, the 5-receiver limit and errors for unknown consumer groups/partitions.
import {
  earliestEventPosition,
  EventHubConsumerClient,
  EventHubProducerClient,
  latestEventPosition,
  MessagingError,
  PartitionContext,
  ReceivedEventData,
} from '@azure/event-hubs';
import {
  FAST_FAIL,
  firstProcessError,
  receiveEvents,
  sendBodies,
  startTestEmulator,
  TestEmulator,
} from './helpers';
import { RawClient, sasToken } from './rawClient';

describe('emulator receiving', () => {
  let emulator: TestEmulator;
  let producer: EventHubProducerClient;
  let sent: ReceivedEventData[];
  const clients: EventHubConsumerClient[] = [];

  const consumer = (consumerGroup = '$default', hub = 'events') => {
    const client = new EventHubConsumerClient(consumerGroup, emulator.connectionString, hub, {
      retryOptions: FAST_FAIL,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    emulator = await startTestEmulator({
      hubs: [{ name: 'events', partitionCount: 2, consumerGroups: ['processor'] }],
    });
    producer = new EventHubProducerClient(emulator.connectionString, 'events');
    // Two batches a few milliseconds apart, so enqueued times differ.
    await producer.sendBatch(
      [0, 1, 2, 3, 4].map((n) => ({ body: n })),
      { partitionId: '0' },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await producer.sendBatch(
      [5, 6, 7, 8, 9].map((n) => ({ body: n })),
      { partitionId: '0' },
    );
    sent = await receiveEvents(emulator.connectionString, 'events', '0', earliestEventPosition, 10);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await producer.close();
    await emulator.stop();
  });

  const bodiesFrom = async (position: Parameters<typeof receiveEvents>[3], count: number) =>
    (await receiveEvents(emulator.connectionString, 'events', '0', position, count, { timeoutMs: 3000 })).map(
      (event) => event.body,
    );

  test('earliest delivers everything in order with annotations', () => {
    expect(sent.map((e) => e.body)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sent.map((e) => e.sequenceNumber)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sent[0].offset).toBe('0');
    expect(sent[0].enqueuedTimeUtc.getTime()).toBeLessThan(sent[9].enqueuedTimeUtc.getTime());
  });

  test('offset: exclusive and inclusive', async () => {
    expect(await bodiesFrom({ offset: sent[3].offset }, 6)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(await bodiesFrom({ offset: sent[3].offset, isInclusive: true }, 7)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  test('sequence number: exclusive and inclusive', async () => {
    expect(await bodiesFrom({ sequenceNumber: 7 }, 2)).toEqual([8, 9]);
    expect(await bodiesFrom({ sequenceNumber: 7, isInclusive: true }, 3)).toEqual([7, 8, 9]);
  });

  test('enqueued time: events enqueued after it', async () => {
    expect(await bodiesFrom({ enqueuedOn: sent[4].enqueuedTimeUtc }, 5)).toEqual([5, 6, 7, 8, 9]);
    expect(
      await bodiesFrom({ enqueuedOn: new Date(sent[0].enqueuedTimeUtc.getTime() - 1) }, 10),
    ).toHaveLength(10);
  });

  test('a position past the end (its events lost, as after an in-memory restart) starts at the earliest', async () => {
    const fresh = await startTestEmulator();
    try {
      await sendBodies(fresh.connectionString, 'events', ['after-restart-1', 'after-restart-2'], {
        partitionId: '0',
      });
      const bySequence = await receiveEvents(
        fresh.connectionString,
        'events',
        '0',
        { sequenceNumber: 500 },
        2,
      );
      expect(bySequence.map((e) => e.body)).toEqual(['after-restart-1', 'after-restart-2']);
      const byOffset = await receiveEvents(fresh.connectionString, 'events', '0', { offset: '123456' }, 2);
      expect(byOffset.map((e) => e.body)).toEqual(['after-restart-1', 'after-restart-2']);
      expect(fresh.logs.join('\n')).toMatch(
        /is beyond the end of the partition .* Delivering from the earliest event/,
      );
    } finally {
      await fresh.stop();
    }
  });

  test('the position right after the last event waits for new events', async () => {
    const received: unknown[] = [];
    const { lastEnqueuedSequenceNumber } = await producer.getPartitionProperties('1');
    const client = consumer();
    const subscription = client.subscribe(
      '1',
      {
        processEvents: async (events) => void received.push(...events.map((e) => e.body)),
        processError: async () => undefined,
      },
      { startPosition: { sequenceNumber: lastEnqueuedSequenceNumber }, maxWaitTimeInSeconds: 1 },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await producer.sendBatch([{ body: 'late' }], { partitionId: '1' });
    await waitFor(() => received.length > 0);
    expect(received).toEqual(['late']);
    await subscription.close();
  });

  test('latest delivers only what arrives after the receiver attached, as it arrives', async () => {
    const received: ReceivedEventData[] = [];
    const client = consumer();
    let attached = false;
    client.subscribe(
      '0',
      {
        processInitialize: async () => {
          attached = true;
        },
        processEvents: async (events) => void received.push(...events),
        processError: async () => undefined,
      },
      { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1 },
    );
    await waitFor(() => attached);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 3; i++) {
      await producer.sendBatch([{ body: `live-${i}` }], { partitionId: '0' });
      await waitFor(() => received.length === i + 1);
    }
    expect(received.map((e) => e.body)).toEqual(['live-0', 'live-1', 'live-2']);
    expect(received[0].sequenceNumber).toBeGreaterThanOrEqual(10);
  });

  test('credit is honoured, and a drain request gives unused credit back', async () => {
    const client = await RawClient.connect(emulator.amqpPort);
    try {
      const address = (partition: string) => `events/ConsumerGroups/$default/Partitions/${partition}`;
      for (const partition of ['0', '1']) {
        const audience = `${client.endpoint}/${address(partition)}`;
        await client.putToken(audience, sasToken(audience));
      }
      // Three credits on a partition of ten or more events: exactly three are delivered.
      const limited = await client.receiveWithCredit(address('0'), 3, { waitMs: 500 });
      expect(limited.bodies).toHaveLength(3);
      // More credit than events, then drain: what there is arrives and the rest is handed back.
      const { lastEnqueuedSequenceNumber } = await producer.getPartitionProperties('1');
      const drained = await client.receiveWithCredit(address('1'), lastEnqueuedSequenceNumber + 11, {
        drain: true,
        waitMs: 3000,
      });
      expect(drained.drained).toBe(true);
      expect(drained.bodies).toHaveLength(lastEnqueuedSequenceNumber + 1);
    } finally {
      client.close();
    }
  });

  test('runtime metrics describe the last enqueued event when asked for', async () => {
    const client = consumer();
    const context = await new Promise<PartitionContext>((resolve) => {
      client.subscribe(
        '0',
        {
          processEvents: async (events, ctx) => {
            if (events.length) resolve(ctx);
          },
          processError: async () => undefined,
        },
        { startPosition: earliestEventPosition, trackLastEnqueuedEventProperties: true, maxBatchSize: 1 },
      );
    });
    const last = await producer.getPartitionProperties('0');
    const metrics = context.lastEnqueuedEventProperties!;
    expect(metrics.sequenceNumber).toBe(last.lastEnqueuedSequenceNumber);
    expect(metrics.offset).toBe(last.lastEnqueuedOffset);
    expect(metrics.enqueuedOn).toEqual(last.lastEnqueuedOnUtc);
    expect(metrics.retrievedOn).toBeInstanceOf(Date);
    expect(Number.isNaN(metrics.retrievedOn!.getTime())).toBe(false);
  });

  test('a higher owner level steals the partition with ReceiverDisconnectedError', async () => {
    const first = consumer();
    const stolen = firstProcessError(first, '1', { ownerLevel: 1, startPosition: earliestEventPosition });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = consumer();
    const secondError = firstProcessError(
      second,
      '1',
      { ownerLevel: 2, startPosition: earliestEventPosition },
      2000,
    );
    const error = (await stolen) as MessagingError;
    expect(error.code).toBe('ReceiverDisconnectedError');
    expect(error.message).toContain(`New receiver with higher epoch of '2' is created`);
    expect(await secondError).toBeUndefined();
  });

  test('a lower owner level, or none, is refused while an owner holds the partition', async () => {
    const owner = consumer();
    const ownerError = firstProcessError(
      owner,
      '1',
      { ownerLevel: 5, startPosition: earliestEventPosition },
      3000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const lower = (await firstProcessError(consumer(), '1', { ownerLevel: 4 })) as MessagingError;
    expect(lower.code).toBe('ReceiverDisconnectedError');
    expect(lower.message).toContain(
      `with a higher epoch '5' already exists. A new receiver with epoch '4' cannot be created`,
    );
    const none = (await firstProcessError(consumer(), '1', {})) as MessagingError;
    expect(none.message).toContain(`A new receiver with no epoch cannot be created`);
    expect(await ownerError).toBeUndefined();
  });

  test('at most 5 receivers without owner level per partition and consumer group', async () => {
    const quiet = [];
    for (let i = 0; i < 5; i++) quiet.push(firstProcessError(consumer('processor'), '0', {}, 2500));
    await new Promise((resolve) => setTimeout(resolve, 700));
    const sixth = (await firstProcessError(consumer('processor'), '0', {})) as MessagingError;
    expect(sixth.code).toBe('QuotaExceededError');
    expect(sixth.message).toMatch(
      /maximum number of allowed receivers per partition in a consumer group which is 5/,
    );
    // Another consumer group is counted separately.
    expect(await firstProcessError(consumer('$default'), '0', {}, 1500)).toBeUndefined();
    expect(await Promise.all(quiet)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  test('an unknown consumer group gives the service not-found error', async () => {
    const error = (await firstProcessError(consumer('missing'), '0', {})) as MessagingError;
    expect(error.code).toBe('MessagingEntityNotFoundError');
    expect(error.message).toBe(
      `The messaging entity 'emulatorNs1:eventhub:events~0|missing' could not be found.`,
    );
  });

  test('an unknown partition gives ArgumentOutOfRangeError', async () => {
    const error = (await firstProcessError(consumer(), '9', {})) as MessagingError;
    expect(error.code).toBe('ArgumentOutOfRangeError');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
