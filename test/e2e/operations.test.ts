// Operating the app, end to end with real processes: the compiled app under the local host, Azurite and
// the Event Hubs emulator, and the operator tools run as their own command lines (npm run
// dead-letters / checkpoints). Trace context from request to consumer lines, dead letters replayed
// exactly once, a rewind that re-delivers what came after a time, and ConsumerLag lines against the hub
// and the checkpoints. Each test has its own hub.
import { EventHubConsumerClient, EventHubProducerClient, type ReceivedEventData } from '@azure/event-hubs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { type Backends, listBlobs, startBackends } from './support/backends';
import { waitFor } from '../support/waitFor';
import { APP_ROOT, type AppHost, CONSUMER_GROUP, consumerLines, post, startAppHost } from './support/app';
import { DEFAULTS, SETTING_NAMES } from '../../src/lib/settings';
import { CHECKPOINT_CONTAINER } from '../../src/lib/consume/checkpoints';

jest.setTimeout(240_000);

const HUBS = ['traced', 'poisoned', 'rewound', 'lagging'];
let backends: Backends;
const running: AppHost[] = [];

async function appHost(hub: string, options: Parameters<typeof startAppHost>[2] = {}, extra = {}) {
  const host = await startAppHost(backends, hub, options, extra);
  running.push(host);
  return host;
}

beforeAll(async () => {
  backends = await startBackends(
    HUBS.map((name) => ({ name, partitions: 2, consumerGroups: [CONSUMER_GROUP] })),
  );
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((host) => host.stop()));
});

afterAll(async () => {
  await backends?.stop();
});

/** Runs `scripts/<tool>.ts` as `npm run <tool>` does, against a host's settings file. */
function tool(
  name: 'dead-letters' | 'checkpoints',
  settingsFile: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join('scripts', `${name}.ts`), ...args, '--settings', settingsFile],
      { cwd: APP_ROOT, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function json<T>(run: Promise<{ code: number; stdout: string; stderr: string }>): Promise<T> {
  const result = await run;
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

async function withHub<T>(hub: string, use: (producer: EventHubProducerClient) => Promise<T>): Promise<T> {
  const producer = new EventHubProducerClient(backends.eventHubsConnectionString, hub);
  try {
    return await use(producer);
  } finally {
    await producer.close();
  }
}

/** Last enqueued sequence number per partition. */
function lastSequenceNumbers(hub: string): Promise<Record<string, number>> {
  return withHub(hub, async (producer) => {
    const ids = await producer.getPartitionIds();
    const properties = await Promise.all(ids.map((id) => producer.getPartitionProperties(id)));
    return Object.fromEntries(properties.map((p) => [p.partitionId, p.lastEnqueuedSequenceNumber]));
  });
}

/** The events of a partition after `afterSequenceNumber`, read through $Default once `count` are there. */
async function eventsAfter(hub: string, partitionId: string, afterSequenceNumber: number, count: number) {
  const client = new EventHubConsumerClient('$Default', backends.eventHubsConnectionString, hub);
  const received: ReceivedEventData[] = [];
  const subscription = client.subscribe(
    partitionId,
    { processEvents: async (events) => void received.push(...events), processError: async () => undefined },
    {
      startPosition: { sequenceNumber: afterSequenceNumber },
      skipParsingBodyAsJson: true,
      maxWaitTimeInSeconds: 1,
    },
  );
  try {
    return await waitFor(() => (received.length >= count ? received : undefined), {
      what: `${count} events`,
      timeoutMs: 30_000,
    });
  } finally {
    await subscription.close();
    await client.close();
  }
}

async function checkpointOf(hub: string, partitionId: string): Promise<Record<string, string> | undefined> {
  const blobs = await listBlobs(backends.blobService, CHECKPOINT_CONTAINER);
  return blobs.find((blob) => blob.name.endsWith(`/${hub}/${CONSUMER_GROUP}/checkpoint/${partitionId}`))
    ?.metadata;
}

function lagLines(host: AppHost): Record<string, unknown>[] {
  return host.child.lines.flatMap((line) => {
    const match = /^\[\S+\] ConsumerLag (\{.*\})$/.exec(line);
    return match ? [JSON.parse(match[1]) as Record<string, unknown>] : [];
  });
}

test("a request's traceparent reaches every EventProcessed line of its events; without one, each request gets its own", async () => {
  const host = await appHost('traced');
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const traced = await post(host.url, '[{"n":"t1"},{"n":"t2"},{"n":"t3"}]', 'application/json', {
    headers: { traceparent },
  });
  expect(traced).toMatchObject({ status: 202, json: { eventsAccepted: 3, traceparent } });
  const untraced = await post(host.url, '{"n":"u1"}', 'application/json');
  expect(untraced.status).toBe(202);
  const own = String(untraced.json?.traceparent);
  expect(own).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

  const lines = await waitFor(
    () => {
      const processed = consumerLines(host, 'EventProcessed') as unknown as {
        body: string;
        traceId: string;
      }[];
      return processed.length >= 4 ? processed : undefined;
    },
    { what: '4 EventProcessed lines', timeoutMs: 30_000 },
  );
  const traceOf = Object.fromEntries(lines.map((line) => [line.body, line.traceId]));
  expect(traceOf).toEqual({
    '{"n":"t1"}': '4bf92f3577b34da6a3ce929d0e0e4736',
    '{"n":"t2"}': '4bf92f3577b34da6a3ce929d0e0e4736',
    '{"n":"t3"}': '4bf92f3577b34da6a3ce929d0e0e4736',
    '{"n":"u1"}': own.split('-')[1],
  });
});

test('poison events are dead-lettered, listed, replayed once each with x-replay-of, and a rerun does nothing', async () => {
  const host = await appHost('poisoned');
  const poison = { 'x-event-properties': '{"poison":true,"source":"e2e"}' };
  expect(
    (
      await post(host.url, '[{"p":1},{"p":2}]', 'application/json', {
        headers: poison,
        query: 'partitionKey=device-1',
      })
    ).status,
  ).toBe(202);
  expect((await post(host.url, 'plain poison', 'text/plain', { headers: poison })).status).toBe(202);
  expect((await post(host.url, '{"fine":true}', 'application/json')).status).toBe(202);
  const failed = await waitFor(
    () => {
      const lines = consumerLines(host, 'EventFailed');
      return lines.length >= 3 && consumerLines(host, 'EventProcessed').length >= 1 ? lines : undefined;
    },
    { what: '3 EventFailed lines and 1 EventProcessed line', timeoutMs: 30_000 },
  );
  // Stopped, so that the replays are not consumed (and dead-lettered again) while they are counted.
  await host.stop();

  const listed = await json<{ blob: string; partitionId: string; sequenceNumber: number; error: string }[]>(
    tool('dead-letters', host.settingsFile, 'list', '--json'),
  );
  expect(listed.map((letter) => letter.blob).sort()).toEqual(
    failed.map((line) => line.deadLetterBlob).sort(),
  );
  expect(listed.every((letter) => letter.error.includes('poison'))).toBe(true);
  const shown = await json<{ body: string; properties: object; partitionKey: string | null }>(
    tool('dead-letters', host.settingsFile, 'show', listed[0].blob, '--json'),
  );
  expect(failed.map((line) => line.body)).toContain(shown.body);

  const dryRun = await tool('dead-letters', host.settingsFile, 'replay', '--all', '--dry-run');
  expect(dryRun.stdout.match(/^would replay /gm)).toHaveLength(3);
  const before = await lastSequenceNumbers('poisoned');
  expect(await lastSequenceNumbers('poisoned')).toEqual(before);

  const replay = await tool('dead-letters', host.settingsFile, 'replay', '--all');
  expect(replay).toMatchObject({ code: 0, stderr: '' });
  expect(replay.stdout).toContain('3 event(s) published again');
  const after = await lastSequenceNumbers('poisoned');
  const grown = Object.keys(after).map((id) => after[id] - before[id]);
  expect(grown.reduce((a, b) => a + b, 0)).toBe(3);

  const republished = (
    await Promise.all(
      Object.keys(after)
        .filter((id) => after[id] > before[id])
        .map((id) => eventsAfter('poisoned', id, before[id], after[id] - before[id])),
    )
  ).flat();
  const original = new Map(failed.map((line) => [`${line.partitionId}/${line.sequenceNumber}`, line]));
  expect(republished.map((event) => event.properties?.['x-replay-of']).sort()).toEqual(
    [...original.keys()].sort(),
  );
  for (const event of republished) {
    const was = original.get(String(event.properties?.['x-replay-of']))!;
    expect((event.body as Buffer).toString('utf8')).toBe(was.body);
    expect(event.contentType).toBe(was.contentType);
    expect(event.partitionKey ?? null).toBe(was.partitionKey);
    expect(event.properties).toMatchObject({ poison: true, source: 'e2e' });
  }
  expect(await listBlobs(backends.blobService, DEFAULTS.deadLetterContainer)).toEqual([]);

  const rerun = await tool('dead-letters', host.settingsFile, 'replay', '--all');
  expect(rerun).toMatchObject({ code: 0, stdout: 'Nothing to replay.\n' });
  expect(await lastSequenceNumbers('poisoned')).toEqual(after);

  // Given up without a dead letter: replayed from the hub by its coordinates.
  const [coordinates] = original.keys();
  const fromHub = await tool('dead-letters', host.settingsFile, 'replay', '--from-hub', coordinates);
  expect(fromHub).toMatchObject({ code: 0, stderr: '' });
  const partitionId = coordinates.split('/')[0];
  const [again] = await eventsAfter('poisoned', partitionId, after[partitionId], 1);
  expect(again.properties?.['x-replay-of']).toBe(coordinates);
  expect((again.body as Buffer).toString('utf8')).toBe(original.get(coordinates)!.body);
});

test('a rewind to a time re-delivers what came after it; it is refused while the app runs; earliest re-delivers all', async () => {
  const first = await appHost('rewound');
  const bodies = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `{"${prefix}":${i}}`);
  const publish = async (events: string[]) =>
    expect(
      (await post(first.url, `[${events.join(',')}]`, 'application/json', { query: 'partitionId=0' })).status,
    ).toBe(202);
  const processed = (host: AppHost) => consumerLines(host, 'EventProcessed').map((line) => line.body);

  await publish(bodies('a', 3));
  await waitFor(() => (processed(first).length === 3 ? true : undefined), {
    what: 'batch a processed',
    timeoutMs: 30_000,
  });
  const rewindTo = new Date();
  // Events enqueued in the same millisecond as the rewind time would count as before it.
  await waitFor(() => (Date.now() > rewindTo.getTime() ? true : undefined), {
    what: 'the clock to move on',
    timeoutMs: 1_000,
  });
  await publish(bodies('b', 2));
  await waitFor(() => (processed(first).length === 5 ? true : undefined), {
    what: 'batch b processed',
    timeoutMs: 30_000,
  });
  await waitFor(
    async () => ((await checkpointOf('rewound', '0'))?.sequencenumber === '4' ? true : undefined),
    { what: 'checkpoint at 4', timeoutMs: 30_000 },
  );

  const refused = await tool(
    'checkpoints',
    first.settingsFile,
    'rewind',
    '--to',
    rewindTo.toISOString(),
    '--yes',
  );
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('Stop the app first');
  expect((await checkpointOf('rewound', '0'))?.sequencenumber).toBe('4');
  await first.stop();

  const plan = await json<{
    written: boolean;
    partitions: { partitionId: string; checkpoint: { sequenceNumber: number }; resumesAt: number }[];
  }>(
    tool(
      'checkpoints',
      first.settingsFile,
      'rewind',
      '--to',
      rewindTo.toISOString(),
      '--partition',
      '0',
      '--json',
    ),
  );
  expect(plan).toMatchObject({
    written: false,
    partitions: [{ partitionId: '0', checkpoint: { sequenceNumber: 2 }, resumesAt: 3 }],
  });
  expect((await checkpointOf('rewound', '0'))?.sequencenumber).toBe('4');
  const rewind = await tool(
    'checkpoints',
    first.settingsFile,
    'rewind',
    '--to',
    rewindTo.toISOString(),
    '--partition',
    '0',
    '--yes',
  );
  expect(rewind).toMatchObject({ code: 0, stderr: '' });
  expect(await checkpointOf('rewound', '0')).toMatchObject({ sequencenumber: '2' });

  const second = await appHost('rewound');
  await waitFor(() => (processed(second).length >= 2 ? true : undefined), {
    what: 'batch b delivered again',
    timeoutMs: 30_000,
  });
  expect(processed(second)).toEqual(bodies('b', 2));
  await waitFor(
    async () => ((await checkpointOf('rewound', '0'))?.sequencenumber === '4' ? true : undefined),
    { what: 'checkpoint at 4 again', timeoutMs: 30_000 },
  );
  await second.stop();

  expect(await tool('checkpoints', first.settingsFile, 'rewind', '--to', 'earliest', '--yes')).toMatchObject({
    code: 0,
  });
  expect(await checkpointOf('rewound', '0')).toMatchObject({ sequencenumber: '-1', offset: '-1' });
  const third = await appHost('rewound');
  await waitFor(() => (processed(third).length >= 5 ? true : undefined), {
    what: 'everything delivered again',
    timeoutMs: 30_000,
  });
  expect(processed(third)).toEqual([...bodies('a', 3), ...bodies('b', 2)]);
});

test('ConsumerLag lines match the hub and the checkpoints: stop the consumer, publish N, lag = N', async () => {
  const consumer = await appHost('lagging');
  expect(
    (await post(consumer.url, '{"seed":0}', 'application/json', { query: 'partitionId=0' })).status,
  ).toBe(202);
  await waitFor(async () => ((await checkpointOf('lagging', '0')) ? true : undefined), {
    what: 'a checkpoint on partition 0',
    timeoutMs: 30_000,
  });
  await consumer.stop();

  await withHub('lagging', async (producer) => {
    await producer.sendBatch(
      Array.from({ length: 5 }, (_, i) => ({ body: { late: i } })),
      { partitionId: '0' },
    );
    await producer.sendBatch([{ body: { late: 'a' } }, { body: { late: 'b' } }], { partitionId: '1' });
  });
  const last = await lastSequenceNumbers('lagging');
  const checkpoint = Number((await checkpointOf('lagging', '0'))!.sequencenumber);

  // Only the timer function: nothing consumes, so the lag stays put.
  const lag = await appHost(
    'lagging',
    { functions: ['consumerLag'] },
    { [SETTING_NAMES.consumerLagSchedule]: '*/2 * * * * *' },
  );
  const lines = await waitFor(
    () => {
      const all = lagLines(lag);
      const latest = ['0', '1'].map((id) => all.filter((line) => line.partitionId === id).pop());
      return latest.every(Boolean) ? latest : undefined;
    },
    { what: 'a ConsumerLag line per partition', timeoutMs: 30_000 },
  );
  expect(lines).toEqual([
    {
      partitionId: '0',
      lagEvents: 5,
      lagSeconds: expect.any(Number),
      checkpointSequenceNumber: checkpoint,
      lastEnqueuedSequenceNumber: last['0'],
    },
    {
      partitionId: '1',
      lagEvents: 2,
      lagSeconds: expect.any(Number),
      checkpointSequenceNumber: null,
      lastEnqueuedSequenceNumber: last['1'],
    },
  ]);
  expect(last['0'] - checkpoint).toBe(5);
  expect(
    lag.child.lines.some((line) => /Executing 'Functions\.consumerLag' \(Reason='Timer fired at /.test(line)),
  ).toBe(true);

  const shown = await json<
    {
      partitionId: string;
      lagEvents: number;
      checkpointEnqueuedTimeUtc: string | null;
      ownerId: string | null;
    }[]
  >(tool('checkpoints', lag.settingsFile, 'show', '--json'));
  expect(shown).toMatchObject([
    { partitionId: '0', lagEvents: 5, checkpointEnqueuedTimeUtc: expect.stringMatching(/Z$/), ownerId: null },
    { partitionId: '1', lagEvents: 2, checkpointEnqueuedTimeUtc: null, ownerId: null },
  ]);
});
