// Publishing for real: the app's exported HTTP handler, with its shared EventHubProducerClient, against
// the project's Event Hubs emulator on random ports; every event is read back with a real
// EventHubConsumerClient and compared byte for byte.
import {
  earliestEventPosition,
  EventHubConsumerClient,
  type EventPosition,
  type ReceivedEventData,
} from '@azure/event-hubs';
import type { HttpResponseInit } from '@azure/functions';
import { createServer, type Socket } from 'node:net';
import { createPublishEventsHandler, publishEvents } from '../../../src/functions/publishEvents';
import { closeSharedProducer, createProducerClient } from '../../../src/lib/publish/eventHubClient';
import { capturingContext, eventsRequest, type RequestOptions } from '../../unit/support/invocation';
import { emulatorConnectionString } from '../../support/connectionStrings';
import { startTestEmulator, type TestEmulator } from '../../support/emulator';
import { partitionEnds, type PartitionEnds } from '../../support/partitionEnds';
import { SETTING_NAMES } from '../../../src/lib/settings';

const HUB = 'events';
const PARTITIONS = ['0', '1', '2', '3'];
const savedEnv = { ...process.env };
let emulator: TestEmulator | undefined;
let connectionString: string;

interface ReadEvent {
  partitionId: string;
  sequenceNumber: number;
  body: Buffer;
  contentType?: string;
  partitionKey?: string | null;
  properties?: Record<string, unknown>;
}

beforeAll(async () => {
  emulator = await startTestEmulator([
    { name: HUB, partitions: PARTITIONS.length, consumerGroups: ['processor'] },
  ]);
  connectionString = emulator.connectionString;
  Object.assign(process.env, {
    [SETTING_NAMES.eventHubConnection]: connectionString,
    [SETTING_NAMES.eventHubName]: HUB,
    [SETTING_NAMES.publishTimeoutMs]: '10000',
  });
  // The default MAX_REQUEST_BYTES and MAX_EVENTS_PER_REQUEST apply.
  delete process.env[SETTING_NAMES.maxRequestBytes];
  delete process.env[SETTING_NAMES.maxEventsPerRequest];
});

afterAll(async () => {
  await closeSharedProducer();
  await emulator?.stop();
  process.env = savedEnv;
});

async function post(options: RequestOptions): Promise<HttpResponseInit> {
  const { context } = capturingContext();
  return (await publishEvents(eventsRequest(options), context)) as HttpResponseInit;
}

/** Where every partition ends now. */
const endOfPartitions = () => partitionEnds(connectionString, HUB);

/**
 * Every event stored after `since`, read back with a real consumer: the partitions' current ends say
 * exactly how many there are, so reading stops when the last one arrives (no quiet period).
 */
async function readSince(since: PartitionEnds): Promise<ReadEvent[]> {
  const until = await endOfPartitions();
  const pending = new Set(PARTITIONS.filter((id) => until[id] > since[id]));
  const events: ReadEvent[] = [];
  if (pending.size === 0) return events;
  const startPosition: Record<string, EventPosition> = {};
  for (const id of PARTITIONS) {
    startPosition[id] =
      since[id] === -1 ? earliestEventPosition : { sequenceNumber: since[id], isInclusive: false };
  }
  const client = new EventHubConsumerClient('$default', connectionString, HUB);
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`Events still missing in ${[...pending]}`)), 15_000);
      client.subscribe(
        {
          processEvents: async (received: ReceivedEventData[], context) => {
            for (const event of received) {
              if (event.sequenceNumber > until[context.partitionId]) continue;
              events.push({
                partitionId: context.partitionId,
                sequenceNumber: event.sequenceNumber,
                body: event.body as Buffer,
                contentType: event.contentType,
                partitionKey: event.partitionKey,
                properties: event.properties,
              });
              if (event.sequenceNumber === until[context.partitionId]) pending.delete(context.partitionId);
            }
            if (pending.size === 0) {
              clearTimeout(deadline);
              resolve();
            }
          },
          processError: async (error) => reject(error),
        },
        { startPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 0.2, skipParsingBodyAsJson: true },
      );
    });
  } finally {
    await client.close();
  }
  return events;
}

const texts = (events: ReadEvent[]) => events.map((event) => event.body.toString('utf8'));

test('application/json: each element arrives as its exact source text, with the request properties', async () => {
  const since = await endOfPartitions();
  const response = await post({
    contentType: 'application/json',
    headers: {
      'x-event-properties':
        '{"source":"integration","attempt":1,"poison":false,"largest":9007199254740991,"ratio":0.5}',
    },
    body: '[{"id":1,"big":12345678901234567890}, "two", 3]',
  });
  expect(response.status).toBe(202);
  const traceparent = (response.jsonBody as { traceparent: string }).traceparent;
  expect(response.jsonBody).toEqual({
    eventsAccepted: 3,
    batchesSent: 1,
    routing: { type: 'roundRobin' },
    traceparent,
  });
  expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const events = await readSince(since);
  expect(texts(events).sort()).toEqual(['"two"', '3', '{"id":1,"big":12345678901234567890}']);
  for (const event of events) {
    expect(event.contentType).toBe('application/json');
    // The largest safe integer arrives exact (an AMQP long), a fraction as a double.
    // The request's trace context on every event, under both names the SDKs and the host read.
    expect(event.properties).toEqual({
      source: 'integration',
      attempt: 1,
      poison: false,
      largest: 9007199254740991,
      ratio: 0.5,
      traceparent,
      'Diagnostic-Id': traceparent,
    });
  }
});

test.each([
  ['application/x-ndjson', '{"line":1}\n{"line":2}\r\n', ['{"line":1}', '{"line":2}'], 'application/json'],
  ['text/plain', 'plain text, ünïcödé', ['plain text, ünïcödé'], 'text/plain'],
])('%s arrives as sent', async (contentType, body, expected, eventContentType) => {
  const since = await endOfPartitions();
  const response = await post({ contentType, body, query: 'partitionKey=forms' });
  expect(response.status).toBe(202);
  const events = await readSince(since);
  expect(texts(events)).toEqual(expected);
  expect(events.every((event) => event.contentType === eventContentType)).toBe(true);
});

test('application/octet-stream arrives byte for byte', async () => {
  const since = await endOfPartitions();
  const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);
  const response = await post({ contentType: 'application/octet-stream', body: bytes });
  expect(response.status).toBe(202);
  const events = await readSince(since);
  expect(events).toHaveLength(1);
  expect(Buffer.compare(events[0].body, bytes)).toBe(0);
  expect(events[0].contentType).toBe('application/octet-stream');
});

test('partitionKey: the same key lands in the same partition, in order, across requests', async () => {
  const since = await endOfPartitions();
  for (let request = 0; request < 3; request++) {
    const body = JSON.stringify([0, 1, 2].map((i) => ({ request, i })));
    const response = await post({ contentType: 'application/json', query: 'partitionKey=device-42', body });
    expect(response.jsonBody).toMatchObject({ routing: { type: 'partitionKey', partitionKey: 'device-42' } });
  }
  const events = await readSince(since);
  expect(new Set(events.map((event) => event.partitionId)).size).toBe(1);
  expect(events.every((event) => event.partitionKey === 'device-42')).toBe(true);
  expect(texts(events).map((text) => JSON.parse(text))).toEqual(
    [0, 1, 2].flatMap((request) => [0, 1, 2].map((i) => ({ request, i }))),
  );
});

test('partitionId: every event lands in that partition', async () => {
  const since = await endOfPartitions();
  const response = await post({
    contentType: 'application/x-ndjson',
    query: 'partitionId=2',
    body: '1\n2\n3',
  });
  expect(response.status).toBe(202);
  expect(response.jsonBody).toMatchObject({ routing: { type: 'partitionId', partitionId: '2' } });
  const events = await readSince(since);
  expect(events.map((event) => event.partitionId)).toEqual(['2', '2', '2']);
  expect(texts(events)).toEqual(['1', '2', '3']);
});

test('an unknown partition id gets 400 with the real partition ids, and nothing is published', async () => {
  const since = await endOfPartitions();
  const response = await post({ contentType: 'application/json', query: 'partitionId=7', body: '[1]' });
  expect(response.status).toBe(400);
  expect(response.jsonBody).toMatchObject({
    error: { code: 'unknown_partition_id', partitionIds: PARTITIONS },
  });
  expect(await endOfPartitions()).toEqual(since);
});

test('a request larger than one batch is sent as several batches, all events in order', async () => {
  const since = await endOfPartitions();
  const payload = 'x'.repeat(60 * 1024);
  const sent = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, payload }));
  const response = await post({
    contentType: 'application/json',
    query: 'partitionKey=bulk',
    body: `[${sent.join(',')}]`,
  });
  expect(response.status).toBe(202);
  const summary = response.jsonBody as { eventsAccepted: number; batchesSent: number };
  expect(summary.eventsAccepted).toBe(40);
  // 40 x 60 KiB is about 2.4 MB: at least three 1 MB batches, and packing fills them.
  expect(summary.batchesSent).toBeGreaterThanOrEqual(3);
  expect(summary.batchesSent).toBeLessThanOrEqual(4);
  const events = await readSince(since);
  expect(texts(events)).toEqual(sent);
});

test('with the default MAX_REQUEST_BYTES (4 MiB), 3,000 events of 1 KB (3 MB) are published in several full batches', async () => {
  const since = await endOfPartitions();
  const sent = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, payload: 'z'.repeat(1000) }));
  const response = await post({
    contentType: 'application/x-ndjson',
    query: 'partitionKey=default-limit',
    body: sent.join('\n'),
  });
  expect(response.status).toBe(202);
  const summary = response.jsonBody as { eventsAccepted: number; batchesSent: number };
  expect(summary.eventsAccepted).toBe(3000);
  expect(summary.batchesSent).toBeGreaterThanOrEqual(3);
  expect(texts(await readSince(since))).toEqual(sent);
});

test('an event that can never fit gets 413 with its index, and nothing of the request is published', async () => {
  const since = await endOfPartitions();
  const huge = JSON.stringify({ payload: 'y'.repeat(1100 * 1024) });
  const response = await post({
    contentType: 'application/json',
    body: `[{"small":1}, ${huge}, {"small":2}]`,
  });
  expect(response.status).toBe(413);
  expect(response.jsonBody).toMatchObject({
    error: { code: 'event_too_large', index: 1, eventsAccepted: 0 },
  });
  expect(await endOfPartitions()).toEqual(since);
});

test('Event Hubs down: 503 with Retry-After, reporting that nothing was published', async () => {
  // Connected and working first, so the shared client has a live connection to lose.
  expect((await post({ contentType: 'application/json', body: '1' })).status).toBe(202);
  await emulator?.stop();
  emulator = undefined;
  process.env[SETTING_NAMES.publishTimeoutMs] = '5000';

  // The request deadline (PUBLISH_TIMEOUT_MS) bounds the answer; jest's test timeout guards it.
  const response = await post({ contentType: 'application/json', body: '[1,2,3]' });
  expect(response.status).toBe(503);
  expect(response.headers).toMatchObject({ 'Retry-After': '5' });
  expect(response.jsonBody).toMatchObject({
    error: {
      code: expect.stringMatching(/^event_hubs_(unavailable|timeout)$/),
      eventsAccepted: 0,
      retryFromIndex: 0,
    },
  });
});

test('a silent Event Hubs (connection accepted, never answered) gets 503 event_hubs_timeout at PUBLISH_TIMEOUT_MS', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const producer = createProducerClient({
    [SETTING_NAMES.eventHubConnection]: emulatorConnectionString(port),
    [SETTING_NAMES.eventHubName]: HUB,
  });
  const handler = createPublishEventsHandler({
    readSettings: () => ({ maxRequestBytes: 1024, maxEventsPerRequest: 10, publishTimeoutMs: 2000 }),
    getProducer: () => producer,
  });
  try {
    const { context, logs } = capturingContext();
    const response = (await handler(
      eventsRequest({ contentType: 'application/json', body: '[1]' }),
      context,
    )) as HttpResponseInit;
    // The client did reach the server, and the answer is the deadline's own code, not an SDK error.
    expect(sockets.size).toBeGreaterThan(0);
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5' });
    expect(response.jsonBody).toMatchObject({ error: { code: 'event_hubs_timeout', eventsAccepted: 0 } });
    expect(logs.map((log) => log.level)).toEqual(['warning']);
    expect(logs[0].message).not.toContain('SAS_KEY_VALUE');
  } finally {
    await producer.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});
