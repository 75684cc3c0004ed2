// Persistence (--data-dir): events, sequence numbers, offsets and checkpoints survive a restart;
// a kill -9 in the middle of a load loses no acknowledged send and leaves a readable store.
import {
  earliestEventPosition,
  EventHubConsumerClient,
  EventHubProducerClient,
  type ReceivedEventData,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { ContainerClient } from '@azure/storage-blob';
import { appendFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { types } from 'rhea';
import { startAzurite } from '../../../local/azurite';
import { exited, receiveEvents, spawnCli, startEmulatorInProcess, waitForReady } from './helpers';
import { emulatorConnectionString } from '../../support/connectionStrings';
import { tempDir } from '../../support/tempDir';
import { waitFor } from '../../support/waitFor';
import { RawClient, sasToken } from './rawClient';

jest.setTimeout(60_000);

async function partitionSnapshot(connectionString: string) {
  const producer = new EventHubProducerClient(connectionString, 'events');
  try {
    const ids = await producer.getPartitionIds();
    return await Promise.all(ids.map((id) => producer.getPartitionProperties(id)));
  } finally {
    await producer.close();
  }
}

async function readAll(connectionString: string): Promise<ReceivedEventData[][]> {
  const partitions = await partitionSnapshot(connectionString);
  return Promise.all(
    partitions.map((p) =>
      receiveEvents(
        connectionString,
        'events',
        p.partitionId,
        earliestEventPosition,
        p.lastEnqueuedSequenceNumber + 1,
        {
          maxBatchSize: 500,
          timeoutMs: 20_000,
        },
      ),
    ),
  );
}

describe('emulator persistence', () => {
  test('events, sequence numbers and offsets survive a restart; numbering continues', async () => {
    const dir = tempDir('persist');
    try {
      const first = await startEmulatorInProcess({ dataDir: dir.path });
      const producer = new EventHubProducerClient(first.connectionString, 'events');
      await producer.sendBatch(
        ['a', 'b', 'c'].map((body) => ({ body })),
        { partitionId: '0' },
      );
      await producer.sendBatch([{ body: 'k' }], { partitionKey: 'tenant-1' });
      await producer.close();
      const before = await partitionSnapshot(first.connectionString);
      await first.stop();

      const second = await startEmulatorInProcess({ dataDir: dir.path });
      try {
        expect(await partitionSnapshot(second.connectionString)).toEqual(before);
        const replayed = await receiveEvents(
          second.connectionString,
          'events',
          '0',
          earliestEventPosition,
          3,
        );
        expect(replayed.map((e) => [e.body, e.sequenceNumber])).toEqual([
          ['a', 0],
          ['b', 1],
          ['c', 2],
        ]);
        const again = new EventHubProducerClient(second.connectionString, 'events');
        await again.sendBatch([{ body: 'd' }], { partitionId: '0' });
        await again.close();
        const [d] = await receiveEvents(second.connectionString, 'events', '0', { sequenceNumber: 2 }, 1);
        expect(d.body).toBe('d');
        expect(d.sequenceNumber).toBe(3);
        expect(Number(d.offset)).toBeGreaterThan(Number(replayed[2].offset));
        expect(second.logs.join('\n')).toMatch(
          /recovered events\/0: 3 events retained, next sequence number 3/,
        );
      } finally {
        await second.stop();
      }
    } finally {
      dir.remove();
    }
  });

  test('checkpoints stored in Azurite stay valid across an emulator restart', async () => {
    const dir = tempDir('persist-cp');
    const azuriteDir = tempDir('persist-azurite');
    const azurite = await startAzurite({
      location: azuriteDir.path,
      blobPort: 0,
      queuePort: 0,
      tablePort: 0,
    });
    try {
      const container = new ContainerClient(azurite.connectionString, 'checkpoints');
      await container.create();
      const store = new BlobCheckpointStore(container);
      const consumeAll = async (connectionString: string, expected: number) => {
        const received: ReceivedEventData[] = [];
        let checkpointed = 0;
        const client = new EventHubConsumerClient('$default', connectionString, 'events', store, {
          loadBalancingOptions: { strategy: 'greedy', updateIntervalInMs: 300 },
        });
        const subscription = client.subscribe(
          {
            processEvents: async (events, context) => {
              received.push(...events);
              if (events.length) {
                await context.updateCheckpoint(events[events.length - 1]);
                checkpointed += events.length;
              }
            },
            processError: async () => undefined,
          },
          { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
        );
        // Everything received is also checkpointed before the consumer stops.
        await waitFor(() => checkpointed >= expected, {
          what: `${expected} checkpointed events`,
          timeoutMs: 15_000,
        });
        await subscription.close();
        await client.close();
        return received.map((e) => e.body as number).sort((a, b) => a - b);
      };
      const send = async (connectionString: string, from: number) => {
        const producer = new EventHubProducerClient(connectionString, 'events');
        for (let i = from; i < from + 8; i++)
          await producer.sendBatch([{ body: i }], { partitionId: String(i % 4) });
        await producer.close();
      };

      const first = await startEmulatorInProcess({ dataDir: dir.path });
      await send(first.connectionString, 0);
      expect(await consumeAll(first.connectionString, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      await first.stop();

      const second = await startEmulatorInProcess({ dataDir: dir.path });
      try {
        await send(second.connectionString, 8);
        expect(await consumeAll(second.connectionString, 8)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
      } finally {
        await second.stop();
      }
    } finally {
      await azurite.stop();
      azuriteDir.remove();
      dir.remove();
    }
  });

  test('a second emulator cannot use the same data directory', async () => {
    const dir = tempDir('persist-lock');
    const first = await startEmulatorInProcess({ dataDir: dir.path });
    try {
      await expect(startEmulatorInProcess({ dataDir: dir.path })).rejects.toThrow(
        /is in use by another emulator/,
      );
    } finally {
      await first.stop();
      dir.remove();
    }
  });

  test('kill -9 during a load loses no acknowledged send and the store recovers', async () => {
    const dir = tempDir('persist-kill');
    const child = spawnCli(['--port', '0', '--health-port', '0', '--data-dir', dir.path]);
    try {
      const { amqpPort } = await waitForReady(child);
      const connectionString = emulatorConnectionString(amqpPort);
      const acknowledged = new Set<string>();
      let attempted = 0;
      let stop = false;
      // Four producers send batches of 20 events (about 300 bytes each) until the process dies.
      const producers = Array.from({ length: 4 }, (_, p) => async () => {
        const producer = new EventHubProducerClient(connectionString, 'events', {
          retryOptions: { maxRetries: 0, timeoutInMs: 3000 },
        });
        try {
          for (let n = 0; !stop && n < 1000; n++) {
            const ids = Array.from({ length: 20 }, (_, i) => `${p}-${n}-${i}`);
            attempted += ids.length;
            try {
              await producer.sendBatch(ids.map((id) => ({ body: { id, pad: 'x'.repeat(250) } })));
              for (const id of ids) acknowledged.add(id);
            } catch {
              return; // the emulator is gone
            }
          }
        } finally {
          await producer.close().catch(() => undefined);
        }
      });
      const load = Promise.all(producers.map((run) => run()));
      await waitFor(() => acknowledged.size >= 2000, { what: '2000 acknowledged events', timeoutMs: 30_000 });
      child.kill('SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');
      stop = true;
      await load;

      // A torn write at the tail of one segment (what a crash mid-write leaves) must be cut off.
      const partitionDir = path.join(dir.path, 'hubs', 'events', 'partitions', '0');
      const newest = readdirSync(partitionDir)
        .filter((name) => name.endsWith('.seg'))
        .sort()
        .pop()!;
      appendFileSync(
        path.join(partitionDir, newest),
        Buffer.from([0x40, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe]),
      );

      const restarted = spawnCli(['--port', '0', '--health-port', '0', '--data-dir', dir.path]);
      try {
        const { amqpPort: port, output } = await waitForReady(restarted);
        expect(output.stderr).toMatch(/partitions\/0\/\d+\.seg ends with an incomplete write \(7 bytes/);
        const partitions = await readAll(emulatorConnectionString(port));
        const seen = new Map<string, number>();
        for (const events of partitions) {
          // Sequence numbers are contiguous from 0: nothing was lost in the middle or corrupted.
          expect(events.map((e) => e.sequenceNumber)).toEqual(events.map((_, i) => i));
          for (const event of events) {
            const id = (event.body as { id: string }).id;
            seen.set(id, (seen.get(id) ?? 0) + 1);
          }
        }
        const missing = [...acknowledged].filter((id) => !seen.has(id));
        expect(missing).toEqual([]);
        expect([...seen.values()].every((count) => count === 1)).toBe(true);
        // At most the in-flight batches beyond the acknowledged ones were stored.
        expect(seen.size).toBeGreaterThanOrEqual(acknowledged.size);
        expect(seen.size).toBeLessThanOrEqual(attempted);
      } finally {
        restarted.kill('SIGTERM');
        await exited(restarted);
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      dir.remove();
    }
  });

  test('an idempotent retry is acknowledged only once the store it repeats is durable; after kill -9 the event is there once', async () => {
    const dir = tempDir('persist-idempotent');
    const child = spawnCli(['--port', '0', '--health-port', '0', '--data-dir', dir.path]);
    try {
      const { amqpPort } = await waitForReady(child);
      const client = await RawClient.connect(amqpPort);
      const acknowledged: string[] = [];
      try {
        const audience = `${client.endpoint}/events/Partitions/1`;
        await client.putToken(audience, sasToken(audience));
        const link = await client.openSender('events/Partitions/1', {
          desired_capabilities: ['com.microsoft:idempotent-producer'],
          properties: {},
        });
        const event = {
          body: 'stored once',
          message_annotations: { 'com.microsoft:producer-sequence-number': types.wrap_int(0) },
        };
        // The retry arrives while the first attempt is still being written and synced.
        const outcomes = await Promise.all(
          ['first attempt', 'retry'].map((attempt) =>
            link.send(event).then((outcome) => {
              acknowledged.push(attempt);
              return outcome;
            }),
          ),
        );
        expect(outcomes).toEqual(['accepted', 'accepted']);
        expect(acknowledged).toEqual(['first attempt', 'retry']);
      } finally {
        client.close();
      }
      child.kill('SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');

      const restarted = spawnCli(['--port', '0', '--health-port', '0', '--data-dir', dir.path]);
      try {
        const { amqpPort: port } = await waitForReady(restarted);
        const connectionString = emulatorConnectionString(port);
        const producer = new EventHubProducerClient(connectionString, 'events');
        try {
          expect((await producer.getPartitionProperties('1')).lastEnqueuedSequenceNumber).toBe(0);
        } finally {
          await producer.close();
        }
        const [stored] = await receiveEvents(connectionString, 'events', '1', earliestEventPosition, 1);
        expect([stored.body, stored.sequenceNumber]).toEqual(['stored once', 0]);
      } finally {
        restarted.kill('SIGTERM');
        await exited(restarted);
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      dir.remove();
    }
  });
});
