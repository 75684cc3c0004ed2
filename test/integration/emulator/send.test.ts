// Publishing: to the hub, to a partition, by partition key (consistent with the SDK's own key
// mapping), batches up to the 1 MB limit, oversized events refused, and event content kept intact.
import {
  earliestEventPosition,
  EventHubBufferedProducerClient,
  EventHubProducerClient,
  type MessagingError,
} from '@azure/event-hubs';
import { types } from 'rhea';
import { partitionForKey } from '@local/eventhubs-emulator';
// The SDK's client-side key mapping (used by its buffered producer); internal, so imported by path.
import { mapPartitionKeyToId } from '../../../node_modules/@azure/event-hubs/dist/commonjs/impl/partitionKeyToIdMapper.js';
import {
  FAST_FAIL,
  receiveEvents,
  sendBodies,
  startEmulatorInProcess,
  type InProcessEmulator,
} from './helpers';
import { RawClient, sasToken } from './rawClient';

describe('emulator publishing', () => {
  let emulator: InProcessEmulator;
  let producer: EventHubProducerClient;

  beforeEach(async () => {
    emulator = await startEmulatorInProcess();
    producer = new EventHubProducerClient(emulator.connectionString, 'events');
  });

  afterEach(async () => {
    await producer.close();
    await emulator.stop();
  });

  async function partitionSizes(): Promise<number[]> {
    const ids = await producer.getPartitionIds();
    const sizes = [];
    for (const id of ids)
      sizes.push((await producer.getPartitionProperties(id)).lastEnqueuedSequenceNumber + 1);
    return sizes;
  }

  test('sends to the hub spread over the partitions', async () => {
    for (let i = 0; i < 8; i++) await producer.sendBatch([{ body: i }]);
    expect(await partitionSizes()).toEqual([2, 2, 2, 2]);
  });

  test('a batch lands in one partition with consecutive sequence numbers', async () => {
    const batch = await producer.createBatch();
    for (let i = 0; i < 10; i++) expect(batch.tryAdd({ body: i })).toBe(true);
    await producer.sendBatch(batch);
    expect((await partitionSizes()).sort()).toEqual([0, 0, 0, 10]);
  });

  test('sends to a chosen partition', async () => {
    await sendBodies(emulator.connectionString, 'events', ['x', 'y'], { partitionId: '3' });
    expect(await partitionSizes()).toEqual([0, 0, 0, 2]);
    const events = await receiveEvents(emulator.connectionString, 'events', '3', earliestEventPosition, 2);
    expect(events.map((e) => e.body)).toEqual(['x', 'y']);
  });

  test('the same partition key always lands on the same partition, the one the SDK maps it to', async () => {
    const keys = [
      'customer-1',
      'customer-2',
      'order-42',
      'ключ',
      '',
      'a-much-longer-partition-key-than-twelve-bytes',
    ];
    for (const key of keys) {
      await producer.sendBatch([{ body: `${key}#1` }], { partitionKey: key });
      await producer.sendBatch([{ body: `${key}#2` }], { partitionKey: key });
    }
    const partitionOfBody = new Map<unknown, { partition: string; key: string | null | undefined }>();
    const sizes = await partitionSizes();
    for (const [partition, size] of sizes.entries()) {
      const events = await receiveEvents(
        emulator.connectionString,
        'events',
        String(partition),
        earliestEventPosition,
        size,
      );
      for (const event of events)
        partitionOfBody.set(event.body, { partition: String(partition), key: event.partitionKey });
    }
    for (const key of keys) {
      const expected = String(mapPartitionKeyToId(key, 4));
      expect(String(partitionForKey(key, 4))).toBe(expected);
      expect(partitionOfBody.get(`${key}#1`)).toEqual({ partition: expected, key });
      expect(partitionOfBody.get(`${key}#2`)).toEqual({ partition: expected, key });
    }
  });

  test('the buffered producer (client-side hashing) and the emulator agree on key placement', async () => {
    const buffered = new EventHubBufferedProducerClient(emulator.connectionString, 'events', {
      onSendEventsErrorHandler: (context) => {
        throw context.error;
      },
      maxWaitTimeInMs: 100,
    });
    try {
      await buffered.enqueueEvent({ body: 'buffered' }, { partitionKey: 'tenant-7' });
      await buffered.flush();
    } finally {
      await buffered.close();
    }
    await producer.sendBatch([{ body: 'direct' }], { partitionKey: 'tenant-7' });
    const partition = String(partitionForKey('tenant-7', 4));
    const events = await receiveEvents(
      emulator.connectionString,
      'events',
      partition,
      earliestEventPosition,
      2,
    );
    // The buffered producer sends to the partition it computed; the direct one lets the service hash.
    expect(events.map((e) => [e.body, e.partitionKey])).toEqual([
      ['buffered', undefined],
      ['direct', 'tenant-7'],
    ]);
  });

  test('a batch fills up to the advertised 1 MB and is accepted whole', async () => {
    const batch = await producer.createBatch({ partitionId: '1' });
    expect(batch.maxSizeInBytes).toBe(1024 * 1024);
    const body = 'x'.repeat(1000);
    while (batch.tryAdd({ body })) {
      /* fill */
    }
    expect(batch.count).toBeGreaterThan(900);
    expect(batch.sizeInBytes).toBeLessThanOrEqual(1024 * 1024);
    await producer.sendBatch(batch);
    expect((await producer.getPartitionProperties('1')).lastEnqueuedSequenceNumber).toBe(batch.count - 1);
  });

  test('an event over 1 MB is refused with MessageTooLargeError and nothing is stored', async () => {
    const strict = new EventHubProducerClient(emulator.connectionString, 'events', {
      retryOptions: FAST_FAIL,
    });
    try {
      const error = (await strict
        .sendBatch([{ body: Buffer.alloc(1024 * 1024 + 1) }], { partitionId: '0' })
        .catch((e) => e)) as MessagingError;
      expect(error.code).toBe('MessageTooLargeError');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/exceeds the limit \(1048576 bytes\)/);
      expect((await strict.getPartitionProperties('0')).isEmpty).toBe(true);
      // The link stays usable after a refusal.
      await strict.sendBatch([{ body: 'small' }], { partitionId: '0' });
      expect((await strict.getPartitionProperties('0')).lastEnqueuedSequenceNumber).toBe(0);
    } finally {
      await strict.close();
    }
  });

  test('bodies, properties and message fields arrive as sent', async () => {
    const sent = {
      body: { order: 42, items: ['a', 'b'], nested: { ok: true } },
      properties: { tenant: 'contoso', count: 7, ratio: 0.5, flag: true },
      contentType: 'application/json',
      correlationId: 'corr-1',
      messageId: 'msg-1',
    };
    await producer.sendBatch([sent, { body: Buffer.from([1, 2, 3]) }, { body: 'plain text' }], {
      partitionId: '2',
    });
    const [first, second, third] = await receiveEvents(
      emulator.connectionString,
      'events',
      '2',
      earliestEventPosition,
      3,
    );
    expect(first.body).toEqual(sent.body);
    expect(first.properties).toEqual(sent.properties);
    expect(first.contentType).toBe('application/json');
    expect(first.correlationId).toBe('corr-1');
    expect(first.messageId).toBe('msg-1');
    expect(Buffer.from(second.body as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
    expect(third.body).toBe('plain text');
    expect([first, second, third].map((e) => e.sequenceNumber)).toEqual([0, 1, 2]);
    const offsets = [first, second, third].map((e) => e.offset);
    expect(offsets.every((offset) => typeof offset === 'string')).toBe(true);
    expect(offsets.map(Number)).toEqual([...offsets.map(Number)].sort((a, b) => a - b));
    expect(first.enqueuedTimeUtc).toBeInstanceOf(Date);
  });

  test('a plain AMQP message (format 0) from a non-SDK client is stored as one event', async () => {
    const client = await RawClient.connect(emulator.amqpPort);
    try {
      const audience = `${client.endpoint}/events`;
      expect(await client.putToken(audience, sasToken(audience))).toMatchObject({ 'status-code': 202 });
      const outcome = await client.send('events/Partitions/1', {
        body: 'from rhea',
        application_properties: { source: 'raw' },
      });
      expect(outcome).toBe('accepted');
    } finally {
      client.close();
    }
    const [event] = await receiveEvents(emulator.connectionString, 'events', '1', earliestEventPosition, 1);
    expect(event.body).toBe('from rhea');
    expect(event.properties).toEqual({ source: 'raw' });
    expect(event.sequenceNumber).toBe(0);
  });

  test('idempotent publishing: the buffered producer works, repeats are stored once, gaps are refused', async () => {
    const buffered = new EventHubBufferedProducerClient(emulator.connectionString, 'events', {
      enableIdempotentRetries: true,
      onSendEventsErrorHandler: (context) => {
        throw context.error;
      },
      maxWaitTimeInMs: 100,
    });
    try {
      for (let i = 0; i < 3; i++)
        await buffered.enqueueEvent({ body: `idempotent-${i}` }, { partitionId: '2' });
      await buffered.flush();
    } finally {
      await buffered.close();
    }
    expect((await producer.getPartitionProperties('2')).lastEnqueuedSequenceNumber).toBe(2);

    const client = await RawClient.connect(emulator.amqpPort);
    try {
      const audience = `${client.endpoint}/events/Partitions/2`;
      await client.putToken(audience, sasToken(audience));
      const link = await client.openSender('events/Partitions/2', {
        desired_capabilities: ['com.microsoft:idempotent-producer'],
        properties: {},
      });
      expect(typeof link.properties['com.microsoft:producer-id']).toBe('number');
      expect(link.properties['com.microsoft:producer-sequence-number']).toBe(-1);
      const event = (sequenceNumber: number) => ({
        body: `raw-${sequenceNumber}`,
        message_annotations: { 'com.microsoft:producer-sequence-number': types.wrap_int(sequenceNumber) },
      });
      expect(await link.send(event(0))).toBe('accepted');
      expect(await link.send(event(0))).toBe('accepted'); // a retry of the same event
      expect(await link.send(event(1))).toBe('accepted');
      expect(await link.send(event(5))).toMatchObject({ condition: 'com.microsoft:out-of-order-sequence' });
    } finally {
      client.close();
    }
    expect((await producer.getPartitionProperties('2')).lastEnqueuedSequenceNumber).toBe(4);
    const events = await receiveEvents(emulator.connectionString, 'events', '2', earliestEventPosition, 5);
    expect(events.map((e) => e.body)).toEqual([
      'idempotent-0',
      'idempotent-1',
      'idempotent-2',
      'raw-0',
      'raw-1',
    ]);
  });
});
