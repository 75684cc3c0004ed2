// The whole pipeline, end to end, with the real compiled app: POST /api/events on the local host ->
// the Event Hubs emulator -> the processEvents trigger -> its log lines, checkpoints and dead letters
// in Azurite. Real processes and sockets on random ports; each test uses its own event hub.
import { EventHubConsumerClient, EventHubProducerClient } from '@azure/event-hubs';
import { type Backends, listBlobs, startBackends, writeHostJson } from './support/backends';
import { waitFor } from '../support/waitFor';
import {
  type AppHost,
  CONSUMER_GROUP,
  consumerLines,
  deliveredEvents,
  post,
  startAppHost,
} from './support/app';
import { CHECKPOINT_CONTAINER } from '../../src/lib/consume/checkpoints';
import { DEFAULTS } from '../../src/lib/settings';

jest.setTimeout(180_000);

const HUBS = ['forms', 'restart', 'crash', 'shared', 'poison', 'rejects'];
let backends: Backends;
const running: AppHost[] = [];

async function appHost(hub: string, options: Parameters<typeof startAppHost>[2] = {}): Promise<AppHost> {
  const host = await startAppHost(backends, hub, options);
  running.push(host);
  return host;
}

/**
 * What the consumer logs for a published event: its exact body (the trigger declares dataType binary),
 * as text when it is UTF-8, else in base64.
 */
function asLogged(sent: string | Buffer): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  const bytes = Buffer.isBuffer(sent) ? sent : Buffer.from(sent);
  const utf8 = Buffer.from(bytes.toString('utf8')).equals(bytes);
  return { body: bytes.toString(utf8 ? 'utf8' : 'base64'), bodyEncoding: utf8 ? 'utf8' : 'base64' };
}

beforeAll(async () => {
  backends = await startBackends(
    HUBS.map((name) => ({ name, partitions: name === 'poison' ? 2 : 4, consumerGroups: [CONSUMER_GROUP] })),
  );
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((host) => host.stop()));
});

afterAll(async () => {
  await backends?.stop();
});

test('every accepted request form reaches the consumer as sent, across partitions and partition keys', async () => {
  const host = await appHost('forms');
  const expected: {
    body: string | Buffer;
    contentType: string;
    partitionKey: string | null;
    partitionId?: string;
    properties: Record<string, unknown>;
  }[] = [];
  const publish = async (
    body: string | Buffer,
    contentType: string,
    events: (string | Buffer)[],
    route: { partitionKey?: string; partitionId?: string } = {},
    properties: Record<string, unknown> = {},
  ) => {
    const query = route.partitionKey
      ? `partitionKey=${encodeURIComponent(route.partitionKey)}`
      : route.partitionId
        ? `partitionId=${route.partitionId}`
        : undefined;
    const headers = Object.keys(properties).length
      ? { 'x-event-properties': JSON.stringify(properties) }
      : undefined;
    const response = await post(host.url, body, contentType, { query, headers });
    expect(response.status).toBe(202);
    expect(response.json).toMatchObject({ eventsAccepted: events.length });
    for (const event of events) {
      expected.push({
        body: event,
        contentType:
          contentType.split(';')[0] === 'application/x-ndjson'
            ? 'application/json'
            : contentType.split(';')[0],
        partitionKey: route.partitionKey ?? null,
        partitionId: route.partitionId,
        properties,
      });
    }
  };

  for (let i = 0; i < 4; i++) {
    await publish(`[{"id":"rr-${i}-a","v":${i}.5},{"id":"rr-${i}-b","tags":["x","y"]}]`, 'application/json', [
      `{"id":"rr-${i}-a","v":${i}.5}`,
      `{"id":"rr-${i}-b","tags":["x","y"]}`,
    ]);
  }
  await publish(
    '{"id":"keyed-json","nested":{"deep":[1,2,{"z":null}]}}',
    'application/json',
    ['{"id":"keyed-json","nested":{"deep":[1,2,{"z":null}]}}'],
    { partitionKey: 'device-7' },
  );
  await publish(
    '{"line":1}\r\n\n{"line":2}\n"just a string"\n',
    'application/x-ndjson',
    ['{"line":1}', '{"line":2}', '"just a string"'],
    {
      partitionKey: 'device-9',
    },
  );
  await publish('hello, wörld – plain text', 'text/plain; charset=utf-8', ['hello, wörld – plain text'], {
    partitionId: '2',
  });
  await publish(
    Buffer.from('raw bytes \u0001\u0002 end', 'utf8'),
    'application/octet-stream',
    ['raw bytes \u0001\u0002 end'],
    {},
    {
      source: 'sensor-1',
      schemaVersion: 2,
      retained: true,
    },
  );
  // Bytes that are not UTF-8 (a PNG header): the host hands them over untouched, the log shows base64.
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);
  await publish(png, 'application/octet-stream', [png]);
  // Source text kept: digits beyond double precision, spacing, a date Newtonsoft would have rewritten.
  await publish('[ {"big": 12345678901234567890, "at": "2024-01-02T03:04:05.000Z"} ]', 'application/json', [
    '{"big": 12345678901234567890, "at": "2024-01-02T03:04:05.000Z"}',
  ]);
  await publish('[true, 42, "text event"]', 'application/json', ['true', '42', '"text event"'], {
    partitionKey: 'device-7',
  });
  // A key that reads as JSON must reach the consumer as the same text, not as a boolean or null.
  await publish('{"id":"json-looking-key"}', 'application/json', ['{"id":"json-looking-key"}'], {
    partitionKey: 'true',
  });

  const processed = await waitFor(
    () => {
      const lines = consumerLines(host, 'EventProcessed');
      return lines.length >= expected.length ? lines : undefined;
    },
    { what: `${expected.length} EventProcessed lines`, timeoutMs: 30_000 },
  );
  expect(processed).toHaveLength(expected.length);
  expect(consumerLines(host, 'EventFailed')).toEqual([]);

  for (const event of expected) {
    const logged = asLogged(event.body);
    const matches = processed.filter((line) => line.body === logged.body);
    expect({ body: logged.body, deliveries: matches.length }).toEqual({ body: logged.body, deliveries: 1 });
    const [line] = matches;
    expect(line).toMatchObject({ bodyEncoding: logged.bodyEncoding, contentType: event.contentType });
    expect(line.partitionKey).toBe(event.partitionKey);
    // Plus the trace context the publisher adds (the host lower-cases the first letter: diagnostic-Id).
    expect(line.properties).toEqual({
      ...event.properties,
      traceparent: expect.stringMatching(/^00-/),
      'diagnostic-Id': expect.stringMatching(/^00-/),
    });
    if (event.partitionId) expect(line.partitionId).toBe(event.partitionId);
  }
  const partitionOf = (key: string) =>
    new Set(processed.filter((l) => l.partitionKey === key).map((l) => l.partitionId));
  expect(partitionOf('device-7').size).toBe(1);
  expect(partitionOf('device-9').size).toBe(1);
  expect(new Set(processed.map((l) => l.partitionId)).size).toBeGreaterThan(1);

  // Checkpoints land where the Functions host keeps them, at each partition's last event.
  const lastByPartition = new Map<string, number>();
  for (const line of processed)
    lastByPartition.set(
      line.partitionId,
      Math.max(lastByPartition.get(line.partitionId) ?? -1, line.sequenceNumber),
    );
  await waitFor(
    async () => {
      const blobs = await listBlobs(backends.blobService, CHECKPOINT_CONTAINER);
      return [...lastByPartition].every(([partition, last]) =>
        blobs.some(
          (blob) =>
            blob.name === `127.0.0.1/forms/${CONSUMER_GROUP}/checkpoint/${partition}` &&
            blob.metadata.sequencenumber === String(last),
        ),
      )
        ? true
        : undefined;
    },
    {
      what: 'checkpoints at azure-webjobs-eventhub/127.0.0.1/forms/processor/checkpoint/<partition>',
      timeoutMs: 10_000,
    },
  );
});

test('a restarted host continues from the checkpoints: no event is processed twice', async () => {
  const first = await appHost('restart');
  const publishMany = async (url: string, prefix: string) => {
    for (let i = 0; i < 10; i++) {
      const body = JSON.stringify(Array.from({ length: 5 }, (_, j) => ({ id: `${prefix}-${i}-${j}` })));
      expect((await post(url, body, 'application/json')).status).toBe(202);
    }
  };
  await publishMany(first.url, 'before');
  await waitFor(() => (consumerLines(first, 'EventProcessed').length >= 50 ? true : undefined), {
    what: '50 events',
    timeoutMs: 30_000,
  });
  await first.stop();

  const second = await appHost('restart', { port: first.port });
  await publishMany(second.url, 'after');
  // A marker last in every partition: a partition is read in order, so once its marker is processed,
  // anything that partition was going to deliver again has been delivered already.
  const partitions = ['0', '1', '2', '3'];
  for (const partitionId of partitions) {
    const marker = JSON.stringify({ id: `marker-${partitionId}` });
    expect(
      (await post(second.url, marker, 'application/json', { query: `partitionId=${partitionId}` })).status,
    ).toBe(202);
  }
  const idsOf = (host: AppHost) =>
    consumerLines(host, 'EventProcessed').map((line) => (JSON.parse(line.body) as { id: string }).id);
  await waitFor(() => (partitions.every((p) => idsOf(second).includes(`marker-${p}`)) ? true : undefined), {
    what: 'the marker of every partition',
    timeoutMs: 30_000,
  });

  const events = [...idsOf(first), ...idsOf(second)].filter((id) => !id.startsWith('marker-'));
  expect(events).toHaveLength(100);
  expect(new Set(events).size).toBe(100);
  expect(idsOf(second).every((id) => id.startsWith('after-') || id.startsWith('marker-'))).toBe(true);
});

test('a host killed with SIGKILL mid-stream loses nothing: after a restart every event is processed', async () => {
  const total = 2000;
  const producer = new EventHubProducerClient(backends.eventHubsConnectionString, 'crash');
  try {
    for (const partitionId of ['0', '1', '2', '3']) {
      for (let start = 0; start < total / 4; start += 100) {
        const batch = await producer.createBatch({ partitionId });
        for (let i = start; i < start + 100; i++) batch.tryAdd({ body: { partitionId, i } });
        await producer.sendBatch(batch);
      }
    }
  } finally {
    await producer.close();
  }
  // Small batches, so that the kill lands between invocations with work left in every partition.
  const hostJsonFile = writeHostJson(backends.dir, 'crash', {
    version: '2.0',
    logging: { logLevel: { default: 'Warning', Function: 'Information' } },
    extensions: { eventHubs: { maxEventBatchSize: 10 } },
  });
  const first = await appHost('crash', { hostJsonFile });
  await waitFor(() => (deliveredEvents(first.recordFile).length >= 100 ? true : undefined), {
    what: 'the first deliveries',
    timeoutMs: 30_000,
  });
  await first.kill();
  const beforeKill = new Set(deliveredEvents(first.recordFile));
  expect(beforeKill.size).toBeLessThan(total);

  // Same port, so the same owner id: the new host takes the dead one's partitions back at once.
  const second = await appHost('crash', { hostJsonFile, port: first.port });
  const delivered = await waitFor(
    () => {
      const all = new Set([...beforeKill, ...deliveredEvents(second.recordFile)]);
      return all.size >= total ? all : undefined;
    },
    { what: `all ${total} events delivered`, timeoutMs: 60_000 },
  );
  const expectedKeys = ['0', '1', '2', '3'].flatMap((p) =>
    Array.from({ length: total / 4 }, (_, n) => `${p}/${n}`),
  );
  expect([...delivered].sort()).toEqual(expectedKeys.sort());
  // At-least-once: what the dead host had not checkpointed comes again, but never more than one batch per partition.
  const redelivered = deliveredEvents(second.recordFile).filter((key) => beforeKill.has(key));
  expect(redelivered.length).toBeLessThanOrEqual(4 * 10);
});

test('two hosts share the partitions and together process every event once', async () => {
  const options = { loadBalancingIntervalMs: 500, ownershipExpirationMs: 5_000 };
  const a = await appHost('shared', options);
  const b = await appHost('shared', options);
  await waitFor(
    async () => {
      const blobs = await listBlobs(backends.blobService, CHECKPOINT_CONTAINER);
      const owners = blobs
        .filter((blob) => blob.name.startsWith(`127.0.0.1/shared/${CONSUMER_GROUP}/ownership/`))
        .map((blob) => blob.metadata.ownerid);
      const counts = [...new Set(owners)].map((owner) => owners.filter((o) => o === owner).length).sort();
      return owners.length === 4 && counts.join() === '2,2' ? true : undefined;
    },
    { what: 'two partitions per host', timeoutMs: 30_000 },
  );

  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const id = `shared-${i}`;
    ids.push(id);
    const target = i % 2 === 0 ? a : b;
    expect(
      (await post(target.url, JSON.stringify({ id }), 'application/json', { query: `partitionKey=k${i}` }))
        .status,
    ).toBe(202);
  }
  const lines = await waitFor(
    () => {
      const all = [...consumerLines(a, 'EventProcessed'), ...consumerLines(b, 'EventProcessed')];
      return all.length >= ids.length ? all : undefined;
    },
    { what: 'all shared events', timeoutMs: 30_000 },
  );
  expect(lines.map((line) => (JSON.parse(line.body) as { id: string }).id).sort()).toEqual([...ids].sort());
  const partitionsOf = (host: AppHost) =>
    new Set(consumerLines(host, 'EventProcessed').map((line) => line.partitionId));
  expect(partitionsOf(a).size).toBeGreaterThan(0);
  expect(partitionsOf(b).size).toBeGreaterThan(0);
  expect([...partitionsOf(a)].filter((p) => partitionsOf(b).has(p))).toEqual([]);
});

test('one failing event: the rest of the batch is processed, the failure logged and dead-lettered', async () => {
  const host = await appHost('poison');
  const producer = new EventHubProducerClient(backends.eventHubsConnectionString, 'poison');
  try {
    await producer.sendBatch(
      [
        { body: Buffer.from('{"id":"first"}') },
        { body: Buffer.from('{"id":"poisoned"}'), properties: { poison: true } },
        { body: Buffer.from('{"id":"last"}') },
      ],
      { partitionId: '1' },
    );
  } finally {
    await producer.close();
  }
  const failed = await waitFor(() => consumerLines(host, 'EventFailed')[0], {
    what: 'the EventFailed line',
    timeoutMs: 30_000,
  });
  expect(failed).toMatchObject({
    partitionId: '1',
    sequenceNumber: 1,
    body: '{"id":"poisoned"}',
    properties: { poison: true },
    deadLetterBlob: 'dead-letter-events/poison/processor/1/1.json',
  });
  expect(failed.error).toMatch(/poison/);
  const processed = await waitFor(
    () => {
      const lines = consumerLines(host, 'EventProcessed');
      return lines.length >= 2 ? lines : undefined;
    },
    { what: 'the two good events', timeoutMs: 10_000 },
  );
  expect(processed.map((line) => line.body)).toEqual(['{"id":"first"}', '{"id":"last"}']);

  const deadLetter = backends.blobService
    .getContainerClient(DEFAULTS.deadLetterContainer)
    .getBlobClient('poison/processor/1/1.json');
  const stored = JSON.parse((await deadLetter.downloadToBuffer()).toString('utf8'));
  expect(JSON.stringify(stored)).toContain('poisoned');
  expect(stored).toMatchObject({ error: expect.stringMatching(/poison/) });

  // The batch is checkpointed even though one event failed: it is kept in the dead letter, not redelivered.
  await waitFor(
    async () => {
      const blobs = await listBlobs(backends.blobService, CHECKPOINT_CONTAINER);
      return blobs.find(
        (b) =>
          b.name === `127.0.0.1/poison/${CONSUMER_GROUP}/checkpoint/1` && b.metadata.sequencenumber === '2',
      );
    },
    { what: 'the checkpoint past the batch', timeoutMs: 10_000 },
  );
});

test('bad requests get their documented status and nothing reaches the hub', async () => {
  const host = await appHost('rejects');
  const cases: [string, () => ReturnType<typeof post>, number, string | undefined][] = [
    ['GET', () => post(host.url, '', undefined, { method: 'GET' }), 405, 'method_not_allowed'],
    // A Buffer body, so that fetch adds no Content-Type of its own.
    [
      'no content type',
      () => post(host.url, Buffer.from('{"a":1}'), undefined),
      415,
      'unsupported_media_type',
    ],
    ['xml', () => post(host.url, '<a/>', 'application/xml'), 415, 'unsupported_media_type'],
    [
      'latin-1 charset',
      () => post(host.url, 'x', 'text/plain; charset=iso-8859-1'),
      415,
      'unsupported_media_type',
    ],
    ['invalid JSON', () => post(host.url, '{"a":}', 'application/json'), 400, 'invalid_json'],
    [
      'invalid NDJSON',
      () => post(host.url, '{"a":1}\n{oops}\n', 'application/x-ndjson'),
      400,
      'invalid_ndjson',
    ],
    ['empty body', () => post(host.url, '', 'application/json'), 400, 'empty_body'],
    ['empty array', () => post(host.url, '[]', 'application/json'), 400, 'empty_array'],
    ['null event', () => post(host.url, '[{"a":1},null]', 'application/json'), 400, 'null_event'],
    [
      'invalid UTF-8',
      () => post(host.url, Buffer.from([0x68, 0xff, 0xfe]), 'text/plain'),
      400,
      'invalid_utf8',
    ],
    [
      'two routings',
      () => post(host.url, '1', 'application/json', { query: 'partitionKey=a&partitionId=0' }),
      400,
      'conflicting_routing',
    ],
    [
      'empty key',
      () => post(host.url, '1', 'application/json', { query: 'partitionKey=' }),
      400,
      'invalid_routing',
    ],
    [
      'unknown partition',
      () => post(host.url, '1', 'application/json', { query: 'partitionId=17' }),
      400,
      'unknown_partition_id',
    ],
    [
      'bad properties',
      () =>
        post(host.url, '1', 'application/json', { headers: { 'x-event-properties': '{"nested":{"no":1}}' } }),
      400,
      'invalid_event_properties',
    ],
    [
      'too large',
      () => post(host.url, `"${'x'.repeat(4 * 1024 * 1024 + 10)}"`, 'application/json'),
      413,
      'request_too_large',
    ],
  ];
  for (const [name, send, status, code] of cases) {
    const response = await send();
    expect({
      name,
      status: response.status,
      code: (response.json?.error as { code?: string })?.code,
    }).toEqual({ name, status, code });
  }

  const client = new EventHubConsumerClient(CONSUMER_GROUP, backends.eventHubsConnectionString, 'rejects');
  try {
    for (const partitionId of await client.getPartitionIds()) {
      expect((await client.getPartitionProperties(partitionId)).isEmpty).toBe(true);
    }
  } finally {
    await client.close();
  }
  expect(consumerLines(host, 'EventProcessed')).toEqual([]);
});
