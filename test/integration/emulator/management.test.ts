// Hub and partition properties through $management, with the field types the SDK exposes, the
// service's errors for unknown entities, and GET /health.
import { EventHubProducerClient, type MessagingError } from '@azure/event-hubs';
import { FAST_FAIL, sendBodies, startEmulatorInProcess, type InProcessEmulator } from './helpers';

describe('emulator management', () => {
  let emulator: InProcessEmulator;
  let producer: EventHubProducerClient;

  beforeAll(async () => {
    emulator = await startEmulatorInProcess({
      hubs: [
        { name: 'orders', partitionCount: 3, consumerGroups: ['processor'] },
        { name: 'events', partitionCount: 4 },
      ],
    });
    producer = new EventHubProducerClient(emulator.connectionString, 'orders', { retryOptions: FAST_FAIL });
  });

  afterAll(async () => {
    await producer.close();
    await emulator.stop();
  });

  test('hub properties list the configured partitions', async () => {
    const before = Date.now();
    const properties = await producer.getEventHubProperties();
    expect(properties.name).toBe('orders');
    expect(properties.partitionIds).toEqual(['0', '1', '2']);
    expect(properties.createdOn).toBeInstanceOf(Date);
    expect(properties.createdOn.getTime()).toBeLessThanOrEqual(before);
    expect(await producer.getPartitionIds()).toEqual(['0', '1', '2']);
  });

  test('an empty partition reports the service defaults', async () => {
    const partition = await producer.getPartitionProperties('2');
    expect(partition).toEqual({
      eventHubName: 'orders',
      partitionId: '2',
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: -1,
      lastEnqueuedOffset: '-1',
      lastEnqueuedOnUtc: new Date(0),
      isEmpty: true,
    });
  });

  test('partition properties follow what was sent, with numeric longs and a string offset', async () => {
    const sentAfter = Date.now();
    await sendBodies(emulator.connectionString, 'orders', ['a', 'b', 'c'], { partitionId: '1' });
    const partition = await producer.getPartitionProperties('1');
    expect(partition.beginningSequenceNumber).toBe(0);
    expect(partition.lastEnqueuedSequenceNumber).toBe(2);
    expect(typeof partition.lastEnqueuedOffset).toBe('string');
    expect(Number(partition.lastEnqueuedOffset)).toBeGreaterThan(0);
    expect(partition.lastEnqueuedOnUtc).toBeInstanceOf(Date);
    expect(partition.lastEnqueuedOnUtc.getTime()).toBeGreaterThanOrEqual(sentAfter - 5);
    expect(partition.isEmpty).toBe(false);
  });

  test('an unknown hub is MessagingEntityNotFoundError with the service description', async () => {
    const missing = new EventHubProducerClient(emulator.connectionString, 'nope', {
      retryOptions: FAST_FAIL,
    });
    try {
      const error = (await missing.getEventHubProperties().catch((e) => e)) as MessagingError;
      expect(error.code).toBe('MessagingEntityNotFoundError');
      expect(error.message).toBe(`The messaging entity 'sb://127.0.0.1/nope' could not be found.`);
    } finally {
      await missing.close();
    }
  });

  test('hub names are case-insensitive, as in Azure', async () => {
    const upper = new EventHubProducerClient(emulator.connectionString, 'ORDERS', {
      retryOptions: FAST_FAIL,
    });
    try {
      expect((await upper.getEventHubProperties()).partitionIds).toHaveLength(3);
    } finally {
      await upper.close();
    }
  });

  test('an unknown partition is ArgumentOutOfRangeError', async () => {
    const error = (await producer.getPartitionProperties('7').catch((e) => e)) as MessagingError;
    expect(error.code).toBe('ArgumentOutOfRangeError');
    expect(error.message).toContain('between 0 and 2');
  });

  test('GET /health answers like the official emulator', async () => {
    const response = await fetch(`http://127.0.0.1:${emulator.healthPort}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'healthy', message: 'Service is healthy.' });
    const other = await fetch(`http://127.0.0.1:${emulator.healthPort}/other`);
    expect(other.status).toBe(404);
  });

  test('GET /health stops answering once the emulator is stopped', async () => {
    const second = await startEmulatorInProcess();
    const url = `http://127.0.0.1:${second.healthPort}/health`;
    expect((await fetch(url)).status).toBe(200);
    await second.stop();
    await expect(fetch(url)).rejects.toThrow();
  });
});
