// Receiving: every starting position the SDK emits, live delivery, runtime metrics, epoch
// (owner level) semantics, the 5-receiver limit and errors for unknown consumer groups/partitions.
import {
  earliestEventPosition,
  EventHubConsumerClient,
  EventHubProducerClient,
  latestEventPosition,
  type MessagingError,
  type PartitionContext,
  type ReceivedEventData,
  type SubscribeOptions,
} from '@azure/event-hubs';
import {
  FAST_FAIL,
  firstProcessError,
  receiveEvents,
  sendBodies,
  startEmulatorInProcess,
  type InProcessEmulator,
} from './helpers';
import { waitFor } from '../../support/waitFor';
import { RawClient, sasToken } from './rawClient';

describe('emulator receiving', () => {
  let emulator: InProcessEmulator;
  let producer: EventHubProducerClient;
  let sent: ReceivedEventData[];
  const clients: EventHubConsumerClient[] = [];
  /** How far the emulator's injected clock runs ahead of the real one. */
  let clockAheadMs = 0;

  /** How often the emulator has logged a consumer attaching to the partition (a positive signal). */
  const attachments = (partitionId: string, consumerGroup = '$default') =>
    emulator.logs.filter((line) =>
      line.includes(`attached to events/ConsumerGroups/${consumerGroup}/Partitions/${partitionId} from`),
    ).length;

  /** Subscribes and records what arrives, for waits on positive conditions. */
  const watch = (client: EventHubConsumerClient, partitionId: string, options: SubscribeOptions) => {
    const seen = { events: [] as ReceivedEventData[], errors: [] as MessagingError[] };
    client.subscribe(
      partitionId,
      {
        processEvents: async (events) => void seen.events.push(...events),
        processError: async (error) => void seen.errors.push(error as MessagingError),
      },
      { maxWaitTimeInSeconds: 1, ...options },
    );
    return seen;
  };

  const consumer = (consumerGroup = '$default', hub = 'events') => {
    const client = new EventHubConsumerClient(consumerGroup, emulator.connectionString, hub, {
      retryOptions: FAST_FAIL,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    emulator = await startEmulatorInProcess({
      hubs: [{ name: 'events', partitionCount: 2, consumerGroups: ['processor'] }],
      now: () => Date.now() + clockAheadMs,
    });
    producer = new EventHubProducerClient(emulator.connectionString, 'events');
    // Two batches 20 ms apart on the emulator's clock, so enqueued times differ.
    await producer.sendBatch(
      [0, 1, 2, 3, 4].map((n) => ({ body: n })),
      { partitionId: '0' },
    );
    clockAheadMs += 20;
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
    const fresh = await startEmulatorInProcess();
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
    const attachedBefore = attachments('1');
    const subscription = client.subscribe(
      '1',
      {
        processEvents: async (events) => void received.push(...events.map((e) => e.body)),
        processError: async () => undefined,
      },
      { startPosition: { sequenceNumber: lastEnqueuedSequenceNumber }, maxWaitTimeInSeconds: 1 },
    );
    await waitFor(() => attachments('1') > attachedBefore, {
      what: 'the consumer to attach',
      timeoutMs: 15_000,
    });
    await producer.sendBatch([{ body: 'late' }], { partitionId: '1' });
    await waitFor(() => received.length > 0, { what: 'the late event', timeoutMs: 15_000 });
    expect(received).toEqual(['late']);
    await subscription.close();
  });

  test('latest delivers only what arrives after the receiver attached, as it arrives', async () => {
    const received: ReceivedEventData[] = [];
    const client = consumer();
    const attachedBefore = attachments('0');
    client.subscribe(
      '0',
      {
        processEvents: async (events) => void received.push(...events),
        processError: async () => undefined,
      },
      { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1 },
    );
    // "Latest" is resolved when the link attaches: send only after the emulator has attached it.
    await waitFor(() => attachments('0') > attachedBefore, {
      what: 'the consumer to attach',
      timeoutMs: 15_000,
    });
    for (let i = 0; i < 3; i++) {
      await producer.sendBatch([{ body: `live-${i}` }], { partitionId: '0' });
      await waitFor(() => received.length === i + 1, { what: `live-${i}`, timeoutMs: 15_000 });
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
      const limited = await client.receiveWithCredit(address('0'), 3, { expected: 3 });
      expect(limited.bodies).toHaveLength(3);
      // More credit than events, then drain: what there is arrives and the rest is handed back.
      const { lastEnqueuedSequenceNumber } = await producer.getPartitionProperties('1');
      const drained = await client.receiveWithCredit(address('1'), lastEnqueuedSequenceNumber + 11, {
        drain: true,
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
    await producer.sendBatch([{ body: 'for owners' }], { partitionId: '1' });
    const first = watch(consumer(), '1', { ownerLevel: 1, startPosition: earliestEventPosition });
    await waitFor(() => first.events.length > 0, { what: 'the first owner to receive', timeoutMs: 15_000 });
    const second = watch(consumer(), '1', { ownerLevel: 2, startPosition: earliestEventPosition });
    await waitFor(() => first.errors.length > 0, {
      what: 'the first owner to be disconnected',
      timeoutMs: 15_000,
    });
    expect(first.errors[0].code).toBe('ReceiverDisconnectedError');
    expect(first.errors[0].message).toContain(`New receiver with higher epoch of '2' is created`);
    await waitFor(() => second.events.length > 0, { what: 'the second owner to receive', timeoutMs: 15_000 });
    expect(second.errors).toEqual([]);
  });

  test('a lower owner level, or none, is refused while an owner holds the partition', async () => {
    await producer.sendBatch([{ body: 'for owners' }], { partitionId: '1' });
    const owner = watch(consumer(), '1', { ownerLevel: 5, startPosition: earliestEventPosition });
    await waitFor(() => owner.events.length > 0, { what: 'the owner to receive', timeoutMs: 15_000 });
    const lower = (await firstProcessError(consumer(), '1', { ownerLevel: 4 })) as MessagingError;
    expect(lower.code).toBe('ReceiverDisconnectedError');
    expect(lower.message).toContain(
      `with a higher epoch '5' already exists. A new receiver with epoch '4' cannot be created`,
    );
    const none = (await firstProcessError(consumer(), '1', {})) as MessagingError;
    expect(none.message).toContain(`A new receiver with no epoch cannot be created`);
    // The owner kept the partition throughout: it receives what is sent now.
    await producer.sendBatch([{ body: 'after the refusals' }], { partitionId: '1' });
    await waitFor(() => owner.events.some((e) => e.body === 'after the refusals'), {
      what: 'the owner to receive',
      timeoutMs: 15_000,
    });
    expect(owner.errors).toEqual([]);
  });

  test('at most 5 receivers without owner level per partition and consumer group', async () => {
    const five = Array.from({ length: 5 }, () =>
      watch(consumer('processor'), '0', { startPosition: earliestEventPosition }),
    );
    await waitFor(() => five.every((seen) => seen.events.length > 0), {
      what: 'five receivers to receive',
      timeoutMs: 15_000,
    });
    const sixth = (await firstProcessError(consumer('processor'), '0', {})) as MessagingError;
    expect(sixth.code).toBe('QuotaExceededError');
    expect(sixth.message).toMatch(
      /maximum number of allowed receivers per partition in a consumer group which is 5/,
    );
    // Another consumer group is counted separately.
    const other = watch(consumer('$default'), '0', { startPosition: earliestEventPosition });
    await waitFor(() => other.events.length > 0, {
      what: 'a receiver of another consumer group to receive',
      timeoutMs: 15_000,
    });
    expect(other.errors).toEqual([]);
    // The five kept their links: they all receive what is sent now.
    await producer.sendBatch([{ body: 'to all five' }], { partitionId: '0' });
    await waitFor(() => five.every((seen) => seen.events.some((e) => e.body === 'to all five')), {
      what: 'the five receivers to receive a new event',
      timeoutMs: 15_000,
    });
    expect(five.map((seen) => seen.errors)).toEqual([[], [], [], [], []]);
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
