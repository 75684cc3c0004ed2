// Checkpointing of the local host's Event Hubs trigger as host.json configures it: every Nth
// invocation with batchCheckpointFrequency, what a restart replays, a stop while an invocation is in
// retry, and minEventBatchSize holding events back. Real host processes, Azurite and the emulator.
import { type EventData, EventHubProducerClient } from '@azure/event-hubs';
import path from 'node:path';
import { readRecords } from '../../local/host/recorder';
import { type HostProcess, startHostProcess } from '../../local/stack/processes';
import { type Backends, listBlobs, startBackends, writeHostJson, writeSettings } from './support/backends';
import { waitFor } from '../support/waitFor';
import { SETTING_NAMES } from '../../src/lib/settings';
import { CHECKPOINT_CONTAINER } from '../../src/lib/consume/checkpoints';

jest.setTimeout(120_000);

const APP_ROOT = path.join(__dirname, 'fixtures', 'checkpointApp');
let backends: Backends;

beforeAll(async () => {
  backends = await startBackends(
    ['frequency', 'retrystop', 'minbatch', 'moving', 'ckfail'].map((name) => ({
      name,
      partitions: 1,
      consumerGroups: [],
    })),
  );
});

afterAll(async () => {
  await backends?.stop();
});

const running: HostProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((host) => host.kill()));
});

async function startHost(
  hub: string,
  name: string,
  eventHubs: object,
  options: {
    failing?: boolean;
    port?: number;
    loadBalancingIntervalMs?: number;
    ownershipExpirationMs?: number;
  } = {},
): Promise<HostProcess & { recordFile: string }> {
  const settingsFile = writeSettings(backends.dir, name, {
    [SETTING_NAMES.storageConnection]: backends.storageConnectionString,
    [SETTING_NAMES.eventHubConnection]: backends.eventHubsConnectionString,
    FIXTURE_HUB: hub,
    FIXTURE_FAILING: options.failing ? 'true' : 'false',
  });
  const hostJsonFile = writeHostJson(backends.dir, name, {
    version: '2.0',
    extensions: { eventHubs: { initialOffsetOptions: { type: 'fromStart' }, ...eventHubs } },
  });
  const recordFile = path.join(backends.dir, `${name}.records.ndjson`);
  // The same port as an earlier host keeps the owner id, so a restart takes the partition back at once.
  const host = await startHostProcess({
    appRoot: APP_ROOT,
    port: options.port ?? 0,
    settingsFile,
    hostJsonFile,
    recordFile,
    loadBalancingIntervalMs: options.loadBalancingIntervalMs,
    ownershipExpirationMs: options.ownershipExpirationMs,
  });
  running.push(host);
  return { ...host, recordFile };
}

async function send(hub: string, events: EventData[]): Promise<void> {
  const producer = new EventHubProducerClient(backends.eventHubsConnectionString, hub);
  try {
    await producer.sendBatch(events, { partitionId: '0' });
  } finally {
    await producer.close();
  }
}

interface Invocation {
  sequenceNumbers: number[];
  succeeded: boolean;
  retryCount: number;
  checkpointing: boolean;
  startedAt: number;
}

function invocations(recordFile: string): Invocation[] {
  return readRecords(recordFile).map((record) => {
    const metadata = record.triggerMetadata as {
      sequenceNumberArray: number[];
      partitionContext: { isCheckpointingAfterInvocation: boolean };
    };
    return {
      sequenceNumbers: metadata.sequenceNumberArray,
      succeeded: record.succeeded,
      retryCount: record.retryCount ?? 0,
      checkpointing: metadata.partitionContext.isCheckpointingAfterInvocation,
      startedAt: Date.parse(record.startedAt),
    };
  });
}

function untilInvoked(recordFile: string, sequenceNumber: number, what: string): Promise<Invocation[]> {
  return waitFor(
    () => {
      const all = invocations(recordFile);
      return all.some((i) => i.succeeded && i.sequenceNumbers.includes(sequenceNumber)) ? all : undefined;
    },
    { what: what, timeoutMs: 30_000 },
  );
}

async function checkpointOf(hub: string): Promise<string | undefined> {
  const blobs = await listBlobs(backends.blobService, CHECKPOINT_CONTAINER);
  return blobs.find((blob) => blob.name === `127.0.0.1/${hub}/$default/checkpoint/0`)?.metadata
    .sequencenumber;
}

const bodies = (from: number, count: number): EventData[] =>
  Array.from({ length: count }, (_, i) => ({ body: { n: from + i } }));

test('batchCheckpointFrequency 3 checkpoints every third invocation; a crash replays only what follows', async () => {
  const eventHubs = { maxEventBatchSize: 1, batchCheckpointFrequency: 3 };
  const first = await startHost('frequency', 'frequency-1', eventHubs);
  await send('frequency', bodies(0, 8));
  const before = await untilInvoked(first.recordFile, 7, 'eight invocations');
  expect(before.map((i) => i.sequenceNumbers)).toEqual([[0], [1], [2], [3], [4], [5], [6], [7]]);
  expect(before.map((i) => i.checkpointing)).toEqual([false, false, true, false, false, true, false, false]);
  // Invocations of one partition run one after the other, each after the previous one's checkpoint:
  // with the eighth recorded, the sixth one's checkpoint is written and the seventh wrote none.
  expect(await checkpointOf('frequency')).toBe('5');

  await first.kill();
  const second = await startHost('frequency', 'frequency-2', eventHubs, { port: first.port });
  await untilInvoked(second.recordFile, 7, 'the un-checkpointed events again');
  await send('frequency', bodies(8, 1));
  const after = await untilInvoked(second.recordFile, 8, 'the event sent after the restart');
  expect(after.map((i) => i.sequenceNumbers)).toEqual([[6], [7], [8]]);
});

test('stopping the host while an invocation is in retry completes, checkpoints nothing past it, and the events come again', async () => {
  const eventHubs = { maxEventBatchSize: 1, batchCheckpointFrequency: 3 };
  const first = await startHost('retrystop', 'retrystop-1', eventHubs, { failing: true });
  await send('retrystop', [{ body: { n: 0 } }, { body: { n: 1 }, properties: { fail: true } }]);
  await waitFor(
    () => invocations(first.recordFile).find((i) => i.sequenceNumbers[0] === 1 && i.retryCount >= 1),
    { what: 'the second event to be in retry', timeoutMs: 30_000 },
  );

  await first.stop();
  expect(await first.child.exited).toEqual({ code: 0, signal: null });
  expect(invocations(first.recordFile).some((i) => i.sequenceNumbers[0] === 1 && i.succeeded)).toBe(false);
  // The first invocation finished (and, with frequency 3, was not checkpointed yet): the stop
  // checkpoints it, not the one cut short in retry.
  expect(await checkpointOf('retrystop')).toBe('0');

  const second = await startHost('retrystop', 'retrystop-2', eventHubs, { port: first.port });
  const after = await untilInvoked(second.recordFile, 1, 'the event in retry, delivered again');
  expect(after.map((i) => [i.sequenceNumbers, i.succeeded, i.retryCount])).toEqual([[[1], true, 0]]);
});

test('retry counts live in one instance: a batch in retry that another host picks up starts again at retry 0', async () => {
  const balancing = { loadBalancingIntervalMs: 500, ownershipExpirationMs: 3_000 };
  const first = await startHost(
    'moving',
    'moving-1',
    { maxEventBatchSize: 1 },
    { failing: true, ...balancing },
  );
  await send('moving', [{ body: { n: 0 }, properties: { fail: true } }]);
  await waitFor(() => invocations(first.recordFile).find((i) => i.retryCount >= 2), {
    what: 'the event to be in its second retry on the first host',
    timeoutMs: 30_000,
  });
  // A second instance (another owner id) waits while the first owns the partition.
  const second = await startHost('moving', 'moving-2', { maxEventBatchSize: 1 }, balancing);
  await first.kill();
  const after = await untilInvoked(
    second.recordFile,
    0,
    'the event on the second host once ownership expired',
  );
  expect(after.map((i) => [i.sequenceNumbers, i.succeeded, i.retryCount])).toEqual([[[0], true, 0]]);
});

test('a checkpoint write that fails restarts the partition from the stored checkpoint: the batch comes again', async () => {
  const host = await startHost(
    'ckfail',
    'ckfail',
    { maxEventBatchSize: 1 },
    { loadBalancingIntervalMs: 500 },
  );
  await send('ckfail', bodies(0, 1));
  await untilInvoked(host.recordFile, 0, 'the first event');
  await waitFor(async () => ((await checkpointOf('ckfail')) === '0' ? true : undefined), {
    what: 'checkpoint 0',
    timeoutMs: 10_000,
  });
  // An infinite lease held by someone else makes every write of the checkpoint blob fail (412).
  const blob = backends.blobService
    .getContainerClient(CHECKPOINT_CONTAINER)
    .getBlobClient('127.0.0.1/ckfail/$default/checkpoint/0');
  const lease = blob.getBlobLeaseClient();
  await lease.acquireLease(-1);
  await send('ckfail', bodies(1, 1));
  const again = await waitFor(
    () => {
      const seen = invocations(host.recordFile).filter((i) => i.sequenceNumbers[0] === 1);
      return seen.length >= 2 ? seen : undefined;
    },
    { what: 'the second event delivered again after its checkpoint failed', timeoutMs: 30_000 },
  );
  expect(again.every((i) => i.succeeded)).toBe(true);
  expect(await checkpointOf('ckfail')).toBe('0');
  await lease.releaseLease();
  await waitFor(async () => ((await checkpointOf('ckfail')) === '1' ? true : undefined), {
    what: 'checkpoint 1',
    timeoutMs: 30_000,
  });
  // The restart began at the stored checkpoint: the first event never came again.
  expect(invocations(host.recordFile).filter((i) => i.sequenceNumbers[0] === 0)).toHaveLength(1);
});

test('minEventBatchSize holds events back until enough arrived, maxWaitTime sends the rest', async () => {
  const host = await startHost('minbatch', 'minbatch', {
    maxEventBatchSize: 10,
    minEventBatchSize: 3,
    maxWaitTime: '00:00:05',
  });
  // The receiver is open before the first two are sent, so they reach it (and, without
  // minEventBatchSize, would be invoked) before the third event exists: a batch of three below is
  // minEventBatchSize holding them back.
  await host.child.waitForLine(/started processing partition 0$/, 30_000);
  await send('minbatch', bodies(0, 1));
  await send('minbatch', bodies(1, 1));
  const thirdSentAt = Date.now();
  await send('minbatch', bodies(2, 1));
  const first = await untilInvoked(host.recordFile, 2, 'the first three events');
  expect(first.map((i) => i.sequenceNumbers)).toEqual([[0, 1, 2]]);
  expect(first[0].startedAt).toBeGreaterThanOrEqual(thirdSentAt);

  await send('minbatch', bodies(3, 1));
  const all = await untilInvoked(host.recordFile, 3, 'the lone event after maxWaitTime');
  expect(all.map((i) => i.sequenceNumbers)).toEqual([[0, 1, 2], [3]]);
});
