// Retention by size and by time: old events go, sequence numbers keep counting, memory and disk
// stay bounded.
import { earliestEventPosition, EventHubProducerClient } from '@azure/event-hubs';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { receiveEvents, startEmulatorInProcess } from './helpers';
import { tempDir } from '../../support/tempDir';
import { waitFor } from '../../support/waitFor';

jest.setTimeout(30_000);

describe('emulator retention', () => {
  test('a size cap per partition drops the oldest events', async () => {
    const emulator = await startEmulatorInProcess({ retentionBytes: 20_000 });
    const producer = new EventHubProducerClient(emulator.connectionString, 'events');
    try {
      for (let batch = 0; batch < 10; batch++) {
        await producer.sendBatch(
          Array.from({ length: 10 }, (_, i) => ({ body: { n: batch * 10 + i, pad: 'x'.repeat(1000) } })),
          { partitionId: '0' },
        );
      }
      const partition = await producer.getPartitionProperties('0');
      expect(partition.lastEnqueuedSequenceNumber).toBe(99);
      // About 1.1 KB per stored event: at most 18 fit in 20,000 bytes.
      const retained = 100 - partition.beginningSequenceNumber;
      expect(retained).toBeGreaterThanOrEqual(10);
      expect(retained).toBeLessThanOrEqual(18);
      const events = await receiveEvents(
        emulator.connectionString,
        'events',
        '0',
        earliestEventPosition,
        retained,
      );
      expect(events[0].sequenceNumber).toBe(partition.beginningSequenceNumber);
      expect(events.map((e) => (e.body as { n: number }).n)).toEqual(
        Array.from({ length: retained }, (_, i) => partition.beginningSequenceNumber + i),
      );
    } finally {
      await producer.close();
      await emulator.stop();
    }
  });

  test('events older than the retention time are dropped; numbering continues', async () => {
    // The emulator's clock stands still until the test moves it: nothing expires by accident.
    let now = Date.parse('2026-01-01T00:00:00Z');
    const emulator = await startEmulatorInProcess({ retentionMs: 1000, now: () => now });
    const producer = new EventHubProducerClient(emulator.connectionString, 'events');
    try {
      await producer.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }], { partitionId: '2' });
      now += 900;
      const [kept] = await receiveEvents(emulator.connectionString, 'events', '2', earliestEventPosition, 1);
      expect(kept.enqueuedTimeUtc.toISOString()).toBe('2026-01-01T00:00:00.000Z');
      expect((await producer.getPartitionProperties('2')).isEmpty).toBe(false);
      now += 200;
      // The next periodic sweep (every 100 ms for a 1 s retention) drops them.
      let expired = await producer.getPartitionProperties('2');
      await waitFor(async () => (expired = await producer.getPartitionProperties('2')).isEmpty, {
        what: 'the sweep',
        timeoutMs: 15_000,
      });
      expect(expired).toMatchObject({
        isEmpty: true,
        beginningSequenceNumber: 3,
        lastEnqueuedSequenceNumber: 2,
      });
      await producer.sendBatch([{ body: 4 }], { partitionId: '2' });
      const [event] = await receiveEvents(emulator.connectionString, 'events', '2', earliestEventPosition, 1);
      expect([event.body, event.sequenceNumber]).toEqual([4, 3]);
    } finally {
      await producer.close();
      await emulator.stop();
    }
  });

  test('with persistence, retention deletes whole old segment files', async () => {
    const dir = tempDir('retention');
    // Segments are at least 1 MB; with a 1 MB cap, sending 5 MB leaves a couple of segments.
    const emulator = await startEmulatorInProcess({ dataDir: dir.path, retentionBytes: 1024 * 1024 });
    const producer = new EventHubProducerClient(emulator.connectionString, 'events');
    const segments = () =>
      readdirSync(path.join(dir.path, 'hubs', 'events', 'partitions', '1')).filter((name) =>
        name.endsWith('.seg'),
      );
    try {
      const body = 'y'.repeat(10_000);
      for (let batch = 0; batch < 50; batch++) {
        await producer.sendBatch(
          Array.from({ length: 10 }, () => ({ body })),
          { partitionId: '1' },
        );
      }
      // Writes delete the segments that the size cap has emptied.
      await waitFor(() => segments().length <= 3, { what: 'old segments to be deleted', timeoutMs: 15_000 });
      expect(segments().length).toBeGreaterThanOrEqual(1);
      const partition = await producer.getPartitionProperties('1');
      expect(partition.lastEnqueuedSequenceNumber).toBe(499);
      expect(partition.beginningSequenceNumber).toBeGreaterThan(390);
      await producer.close();
      await emulator.stop();

      // After a restart the same events are retained.
      const again = await startEmulatorInProcess({ dataDir: dir.path, retentionBytes: 1024 * 1024 });
      const restartedProducer = new EventHubProducerClient(again.connectionString, 'events');
      expect(await restartedProducer.getPartitionProperties('1')).toEqual(partition);
      await restartedProducer.close();
      await again.stop();

      // A restart with a smaller cap keeps (and reads) only the newest events.
      const smaller = await startEmulatorInProcess({ dataDir: dir.path, retentionBytes: 100_000 });
      const smallerProducer = new EventHubProducerClient(smaller.connectionString, 'events');
      const trimmed = await smallerProducer.getPartitionProperties('1');
      await smallerProducer.close();
      expect(trimmed.lastEnqueuedSequenceNumber).toBe(499);
      expect(trimmed.beginningSequenceNumber).toBeGreaterThan(485);
      const events = await receiveEvents(
        smaller.connectionString,
        'events',
        '1',
        earliestEventPosition,
        500 - trimmed.beginningSequenceNumber,
      );
      expect(events.map((e) => e.sequenceNumber)).toEqual(
        Array.from(
          { length: 500 - trimmed.beginningSequenceNumber },
          (_, i) => trimmed.beginningSequenceNumber + i,
        ),
      );
      await smaller.stop();
    } finally {
      await producer.close();
      dir.remove();
    }
  });
});
