// The local Functions host as a user runs it (`tsx local/host/cli.ts`), against a small fixture app
// (test/e2e/fixtures/hostApp), Azurite and the Event Hubs emulator: HTTP in and out exactly as the app
// returns it, Core Tools-style logs, hooks, Event Hubs trigger inputs and metadata in the host's
// shapes, retries, checkpoints at the host's blob path, and partitions shared by two hosts.
import { EventData, EventHubProducerClient, SendBatchOptions } from '@azure/event-hubs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readRecords } from '../../local/host/recorder';
import { startHostProcess, HostProcess } from '../../local/stack/processes';
import { startAppHost } from './support/app';
import { rawExchange, rawRequest } from './support/rawHttp';
import { Backends, listBlobs, startBackends, writeHostJson, writeSettings } from './support/backends';
import { waitFor } from '../support/waitFor';

jest.setTimeout(120_000);

const APP_ROOT = path.join(__dirname, 'fixtures', 'hostApp');
const CONSUMER_GROUP = 'tests';
const BODY_LIMIT = 2_000_000;
let backends: Backends;
let host: HostProcess;
let recordFile: string;

function settings(name: string, hub: string): string {
  return writeSettings(backends.dir, name, {
    AzureWebJobsStorage: backends.storageConnectionString,
    EventHubConnection: backends.eventHubsConnectionString,
    FIXTURE_HUB: hub,
    FIXTURE_OBJECTS_HUB: 'objects',
    FIXTURE_BYTES_HUB: 'bytes',
    FIXTURE_CONSUMER_GROUP: CONSUMER_GROUP,
    // A small body limit, so that the limit itself can be tested (the default is 100 MB).
    FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: String(BODY_LIMIT),
  });
}

async function send(hub: string, batches: [EventData[], SendBatchOptions?][]): Promise<void> {
  const producer = new EventHubProducerClient(backends.eventHubsConnectionString, hub);
  try {
    for (const [events, options] of batches) await producer.sendBatch(events, options);
  } finally {
    await producer.close();
  }
}

beforeAll(async () => {
  backends = await startBackends([
    { name: 'fixture', partitions: 2, consumerGroups: [CONSUMER_GROUP] },
    { name: 'balance', partitions: 4, consumerGroups: [CONSUMER_GROUP] },
    { name: 'objects', partitions: 1, consumerGroups: [CONSUMER_GROUP] },
    { name: 'bytes', partitions: 1, consumerGroups: [CONSUMER_GROUP] },
    { name: 'moving', partitions: 1, consumerGroups: [CONSUMER_GROUP] },
    { name: 'app', partitions: 2, consumerGroups: ['processor'] },
  ]);
  recordFile = path.join(backends.dir, 'fixture.records.ndjson');
  host = await startHostProcess({
    appRoot: APP_ROOT,
    port: 0,
    settingsFile: settings('fixture', 'fixture'),
    recordFile,
  });
});

afterAll(async () => {
  await host?.stop();
  await backends?.stop();
});

describe('HTTP triggers', () => {
  test('route template, params, query, headers and the raw body reach the handler as sent', async () => {
    const body = Buffer.from([0, 1, 2, 200, 255, 10, 13]);
    const response = await fetch(`${host.url}/api/echo/42/a/b%20c?x=1&x=2&empty=`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'x-custom': 'yes' },
      body,
    });
    expect(response.status).toBe(200);
    const echo = await response.json();
    expect(echo).toMatchObject({
      method: 'PUT',
      url: `${host.url}/api/echo/42/a/b%20c?x=1&x=2&empty=`,
      query: { x: '1,2', empty: '' },
      params: { id: '42', rest: 'a/b c' },
      headers: { 'content-type': 'application/octet-stream', 'x-custom': 'yes' },
      bodyBase64: body.toString('base64'),
      hookData: 'pre:echo:appStart',
    });
  });

  test('responses come back exactly as the app returns them', async () => {
    const status = await fetch(`${host.url}/api/responses/status`);
    expect(status.status).toBe(418);
    expect(status.headers.get('x-fixture')).toBe('teapot');
    expect(status.headers.get('content-type')).toBe('text/plain');
    expect(await status.text()).toBe('short and stout');

    const cookies = await fetch(`${host.url}/api/responses/cookies`);
    expect(cookies.headers.getSetCookie()).toEqual([
      'session=a%20b%3Bc; max-age=60; path=/; samesite=strict; httponly',
      'theme=dark; path=/api; secure',
    ]);

    const bytes = await fetch(`${host.url}/api/responses/bytes`);
    expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await bytes.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 253, 254, 255]));

    const stream = await fetch(`${host.url}/api/responses/stream`);
    expect(await stream.text()).toBe('chunk-1;chunk-2;chunk-3');

    // No HTTP output: 200 with an empty body (WorkerFunctionInvoker skips a null output; the
    // invocation middleware then answers OkResult).
    const empty = await fetch(`${host.url}/api/responses/empty`);
    expect(empty.status).toBe(200);
    expect(await empty.text()).toBe('');

    const head = await fetch(`${host.url}/api/responses/status`, { method: 'HEAD' });
    expect(head.status).toBe(418);
    expect(await head.text()).toBe('');
  });

  test('unknown routes, unregistered methods and failed constraints are 404; a throwing handler is 500', async () => {
    expect((await fetch(`${host.url}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${host.url}/api/responses/status`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${host.url}/api/echo/not-a-number/x`)).status).toBe(404);
    const failed = await fetch(`${host.url}/api/responses/throw`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('');
    expect((await fetch(`${host.url}/admin/host/status`)).status).toBe(200);
  });

  test('HTTP streaming (app.setup({ enableHttpStream: true })) goes through the library proxy both ways', async () => {
    const streaming = await startHostProcess({
      appRoot: path.join(__dirname, 'fixtures', 'streamApp'),
      port: 0,
      settingsFile: settings('stream', 'fixture'),
    });
    try {
      const size = BODY_LIMIT;
      const response = await fetch(`${streaming.url}/api/upload/big?q=1`, {
        method: 'POST',
        headers: { 'x-test': 'streamed', 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(size, 7),
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('x-streamed')).toBe('yes');
      expect(response.headers.has('x-ms-invocation-id')).toBe(false);
      expect(await response.text()).toBe(`name=big;bytes=${size};header=streamed;q=1`);

      // With streams on, a chunked body is passed on (the host proxies the request as it comes).
      const chunked = rawRequest(
        [
          'POST /api/upload/chunked HTTP/1.1',
          'Host: 127.0.0.1',
          'X-Test: chunks',
          'Transfer-Encoding: chunked',
        ],
        '3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n',
      );
      const streamed = await rawExchange(streaming.port, chunked);
      expect(streamed.responses[0]).toMatchObject({
        status: 201,
        body: 'name=chunked;bytes=7;header=chunks;q=null',
      });

      // The body limit holds while streaming, and so do framing faults.
      const over = rawRequest(
        ['POST /api/upload/over HTTP/1.1', 'Host: 127.0.0.1', 'Transfer-Encoding: chunked'],
        `${(BODY_LIMIT + 1).toString(16)}\r\n${'x'.repeat(BODY_LIMIT + 1)}\r\n0\r\n\r\n`,
      );
      expect((await rawExchange(streaming.port, over)).responses[0].status).toBe(413);
      const cut = rawRequest(
        ['POST /api/upload/cut HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 10'],
        'abc',
      );
      const cutShort = await rawExchange(streaming.port, cut, { halfClose: true });
      expect(cutShort.responses[0].status).toBe(400);
    } finally {
      await streaming.stop();
    }
  });

  test('logs look like Core Tools: Executing, the app lines, Executed with outcome and duration', async () => {
    expect((await fetch(`${host.url}/api/ping`)).status).toBe(200);
    const executed = await host.child.waitForLine(
      /Executed 'Functions\.ping' \(Succeeded, Id=([0-9a-f-]{36}), Duration=\d+ms\)/,
      5_000,
    );
    const id = executed[1];
    const lines = host.child.lines;
    const start = lines.findIndex(
      (line) =>
        /^\[\S+Z\] Executing 'Functions\.ping' \(Reason='This function was programmatically called via the host APIs\.', Id=/.test(
          line,
        ) && line.includes(id),
    );
    const end = lines.findIndex((line) => line.includes(`Executed 'Functions.ping' (Succeeded, Id=${id}`));
    expect(start).toBeGreaterThanOrEqual(0);
    const between = lines.slice(start + 1, end);
    // The log hook rewrote the user line; the postInvocation hook logged through the context.
    expect(between.some((line) => / ping with \[redacted\]$/.test(line))).toBe(true);
    expect(between.some((line) => / fixture postInvocation saw pre=true$/.test(line))).toBe(true);

    expect((await fetch(`${host.url}/api/responses/throw`)).status).toBe(500);
    await host.child.waitForLine(
      /Executed 'Functions\.responses' \(Failed, Id=[0-9a-f-]{36}, Duration=\d+ms\)/,
      5_000,
    );
    await host.child.waitForLine(
      /Exception while executing function: Functions\.responses\. Result: Failure/,
      5_000,
    );
    expect(host.child.lines).toContain('Exception: fixture failure');
    expect(
      host.child.lines.some((line) => line.includes('fixture appStart ran (hookData.started=true)')),
    ).toBe(true);
  });
});

/** Invocations of a fixture function recorded so far (the recorder writes one line per finished invocation). */
const invocationsOf = (name: string) => readRecords(recordFile).filter((r) => r.functionName === name).length;

/** Each row of docs/fidelity.md "HTTP trigger" that the local host implements is tested here. */
describe('HTTP: the host web server rules', () => {
  const post = (body: string, headers: string[] = []) =>
    rawRequest(
      ['POST /api/echo/1/x HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: text/plain', ...headers],
      body,
    );

  test('a body longer than its Content-Length is refused with a JSON 400 before the function runs', async () => {
    const before = invocationsOf('echo');
    const { responses } = await rawExchange(host.port, post('[1]GARBAGE', ['Content-Length: 3']));
    expect(responses[0].status).toBe(400);
    expect(JSON.parse(responses[0].body)).toMatchObject({
      error: { code: 'request_framing', source: 'host' },
    });
    // A later request is recorded; the refused one never was.
    expect((await fetch(`${host.url}/api/echo/2/x`)).status).toBe(200);
    await waitFor(() => invocationsOf('echo') === before + 1 || undefined, {
      what: 'the later echo',
      timeoutMs: 5_000,
    });
    expect(invocationsOf('echo')).toBe(before + 1);
  });

  test('a body cut short (the client half-closes) is refused with a JSON 400 before the function runs', async () => {
    const before = invocationsOf('echo');
    const { responses } = await rawExchange(host.port, post('abc', ['Content-Length: 10']), {
      halfClose: true,
    });
    expect(responses[0].status).toBe(400);
    expect(JSON.parse(responses[0].body)).toMatchObject({ error: { code: 'request_body_incomplete' } });
    expect(invocationsOf('echo')).toBe(before);
  });

  test('garbage after a request that already ran is answered after its response, not instead of it', async () => {
    const { responses } = await rawExchange(
      host.port,
      rawRequest(['GET /api/ping HTTP/1.1', 'Host: 127.0.0.1']),
      {
        responses: 2,
        thenWrite: 'GARBAGE\r\n\r\n',
      },
    );
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(responses[0].body).toBe('pong');
  });

  test('a body that never arrives gets 408 once its data rate falls below 240 bytes/s after the 5 s grace', async () => {
    const before = invocationsOf('echo');
    const { responses } = await rawExchange(host.port, post('abc', ['Content-Length: 10']), {
      timeoutMs: 20_000,
    });
    expect(responses[0].status).toBe(408);
    expect(JSON.parse(responses[0].body)).toMatchObject({ error: { code: 'request_body_timeout' } });
    expect(invocationsOf('echo')).toBe(before);
  });

  test('a declared body over FUNCTIONS_REQUEST_BODY_SIZE_LIMIT gets 413 at once; one at the limit is passed', async () => {
    const { responses } = await rawExchange(host.port, post('abc', ['Content-Length: 999999999999']));
    expect(responses[0].status).toBe(413);
    expect(JSON.parse(responses[0].body)).toMatchObject({ error: { code: 'request_body_too_large' } });
    const over = await fetch(`${host.url}/api/echo/1/x`, {
      method: 'POST',
      body: Buffer.alloc(BODY_LIMIT + 1),
    });
    expect(over.status).toBe(413);
    const at = await fetch(`${host.url}/api/echo/1/x`, { method: 'POST', body: Buffer.alloc(BODY_LIMIT) });
    expect(at.status).toBe(200);
    expect(Buffer.from(((await at.json()) as { bodyBase64: string }).bodyBase64, 'base64')).toHaveLength(
      BODY_LIMIT,
    );
  });

  test('a chunked body (no Content-Length) reaches the function as no body at all, as the host passes it', async () => {
    const chunked = rawRequest(
      ['POST /api/echo/1/x HTTP/1.1', 'Host: 127.0.0.1', 'Transfer-Encoding: chunked'],
      '5\r\nhello\r\n0\r\n\r\n',
    );
    const { responses } = await rawExchange(host.port, chunked);
    const echo = JSON.parse(responses[0].body);
    expect(echo.bodyBase64).toBe('');
    expect(echo.headers['transfer-encoding']).toBe('chunked');
  });

  test('repeated headers and query values reach the function joined with ","', async () => {
    const request = rawRequest([
      'GET /api/echo/1/x?k=a&k=b HTTP/1.1',
      'Host: 127.0.0.1',
      'X-Multi: one',
      'X-Multi: two',
    ]);
    const echo = JSON.parse((await rawExchange(host.port, request)).responses[0].body);
    expect(echo.headers['x-multi']).toBe('one,two');
    expect(echo.query).toEqual({ k: 'a,b' });
  });

  test.each([
    ['Host: [::1', 'invalid_host_header'],
    ['Host: a b', 'invalid_host_header'],
    ['Host: a:port', 'invalid_host_header'],
    [['Host: a', 'Host: b'], 'invalid_host_header'],
    [[], 'invalid_host_header'],
  ])('Host header %j gets a JSON 400 (Kestrel refuses it)', async (host_, code) => {
    const lines = ['GET /api/ping HTTP/1.1', ...(Array.isArray(host_) ? host_ : [host_])];
    const { responses } = await rawExchange(host.port, rawRequest(lines));
    expect(responses[0].status).toBe(400);
    expect(JSON.parse(responses[0].body)).toMatchObject({ error: { code } });
  });

  test('HTTP/1.0 without a Host header, and a valid IPv6 Host, are served', async () => {
    const http10 = await rawExchange(host.port, rawRequest(['GET /api/ping HTTP/1.0']));
    expect(http10.responses[0]).toMatchObject({ status: 200, body: 'pong' });
    const ipv6 = await rawExchange(host.port, rawRequest(['GET /api/ping HTTP/1.1', 'Host: [::1]:7071']));
    expect(ipv6.responses[0]).toMatchObject({ status: 200, body: 'pong' });
  });

  test.each([
    ['TRACE /api/methods', 500, ''],
    ['CONNECT /api/methods', 500, ''],
    ['CONNECT 127.0.0.1:80', 404, ''],
    ['TRACE /api/ping', 404, ''],
    ['FOO /api/ping', 404, ''],
    ['DELETE /api/nothing-here', 404, ''],
  ])('%s gets %i with an empty body, as the host answers', async (line, status, body) => {
    const hostHeader = line.startsWith('CONNECT 127') ? 'Host: 127.0.0.1:80' : 'Host: 127.0.0.1';
    const { responses } = await rawExchange(host.port, rawRequest([`${line} HTTP/1.1`, hostHeader]));
    expect(responses[0]).toMatchObject({ status, body });
  });

  test('a method Node cannot parse, on a route that accepts it, gets a JSON 501 naming the function Azure would run', async () => {
    const { responses } = await rawExchange(
      host.port,
      rawRequest(['FOO /api/methods HTTP/1.1', 'Host: 127.0.0.1']),
    );
    expect(responses[0].status).toBe(501);
    expect(JSON.parse(responses[0].body)).toMatchObject({
      error: { code: 'method_not_supported_locally', message: expect.stringContaining("'methods'") },
    });
  });
});

describe('HTTP: the app through the local host', () => {
  let appHost: HostProcess;
  const ends = async () => {
    const producer = new EventHubProducerClient(backends.eventHubsConnectionString, 'app');
    try {
      const ids = await producer.getPartitionIds();
      const properties = await Promise.all(ids.map((id) => producer.getPartitionProperties(id)));
      return properties.map((p) => (p.isEmpty ? -1 : p.lastEnqueuedSequenceNumber));
    } finally {
      await producer.close();
    }
  };

  beforeAll(async () => {
    appHost = await startAppHost(backends, 'app', { functions: ['publishEvents'] });
  });

  afterAll(async () => {
    await appHost?.stop();
  });

  test('a chunked upload gets 411 length_required from the app (the host passed no body), nothing published', async () => {
    const before = await ends();
    const chunked = rawRequest(
      [
        'POST /api/events HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
      ],
      '5\r\n[1,2]\r\n0\r\n\r\n',
    );
    const { responses } = await rawExchange(appHost.port, chunked);
    expect(responses[0].status).toBe(411);
    expect(JSON.parse(responses[0].body)).toMatchObject({ error: { code: 'length_required' } });
    expect(await ends()).toEqual(before);
  });

  test('[1]GARBAGE with Content-Length 3: a JSON 400 from the host and nothing published; the same body sent right is 202', async () => {
    const before = await ends();
    const request = (body: string, length: number) =>
      rawRequest(
        [
          'POST /api/events HTTP/1.1',
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          `Content-Length: ${length}`,
        ],
        body,
      );
    const refused = await rawExchange(appHost.port, request('[1]GARBAGE', 3));
    expect(refused.responses[0].status).toBe(400);
    expect(await ends()).toEqual(before);
    const accepted = await rawExchange(appHost.port, request('[1]', 3));
    expect(accepted.responses[0].status).toBe(202);
  });

  test('TRACE and CONNECT are 404 (not registered), other methods a JSON 405 from the app', async () => {
    for (const method of ['TRACE', 'CONNECT']) {
      const { responses } = await rawExchange(
        appHost.port,
        rawRequest([`${method} /api/events HTTP/1.1`, 'Host: 127.0.0.1']),
      );
      expect(responses[0]).toMatchObject({ status: 404, body: '' });
    }
    const get = await fetch(`${appHost.url}/api/events`);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });
});

describe('Event Hubs trigger', () => {
  test('dataType string: UTF-8 strings (JSON-parsed by the library), empty ones dropped, metadata as extension 6.x sends it', async () => {
    await send('fixture', [
      [
        [
          { body: Buffer.from('{"id":1,"nested":{"Key":"v"}}') },
          { body: Buffer.from('plain text'), properties: { Color: 'red', count: 5 } },
          { body: Buffer.from('') },
          { body: Buffer.from('42') },
        ],
        { partitionId: '0' },
      ],
    ]);
    // One AMQP batch normally arrives as one invocation; merge in case the receiver split it.
    type Metadata = Record<string, unknown> & { partitionContext: { partitionId: string } };
    const records = await waitFor(
      () => {
        const found = readRecords(recordFile).filter(
          (r) =>
            r.functionName === 'consume' &&
            r.succeeded &&
            (r.triggerMetadata as Metadata).partitionContext.partitionId === '0',
        );
        return found.flatMap(
          (r) => (r.triggerMetadata as { sequenceNumberArray: number[] }).sequenceNumberArray,
        ).length >= 4
          ? found
          : undefined;
      },
      { what: 'the consume invocations of partition 0', timeoutMs: 30_000 },
    );
    const merged = (key: string) =>
      records.flatMap((r) => (r.triggerMetadata as Record<string, unknown[]>)[key]);
    expect(records.flatMap((r) => r.inputs[0] as unknown[])).toEqual([
      { id: 1, nested: { Key: 'v' } },
      'plain text',
      42,
    ]);
    const metadata: Record<string, unknown> = {
      ...(records[0].triggerMetadata as Metadata),
      sequenceNumberArray: merged('sequenceNumberArray'),
      offsetArray: merged('offsetArray'),
      offsetStringArray: merged('offsetStringArray'),
      partitionKeyArray: merged('partitionKeyArray'),
      propertiesArray: merged('propertiesArray'),
      enqueuedTimeUtcArray: merged('enqueuedTimeUtcArray'),
      systemPropertiesArray: merged('systemPropertiesArray'),
    };
    expect(metadata.partitionContext).toEqual({
      fullyQualifiedNamespace: '127.0.0.1',
      eventHubName: 'fixture',
      consumerGroup: CONSUMER_GROUP,
      partitionId: '0',
      isCheckpointingAfterInvocation: true,
    });
    expect(metadata.triggerPartitionContext).toEqual(metadata.partitionContext);
    expect(metadata.sequenceNumberArray).toEqual([0, 1, 2, 3]);
    expect((metadata.offsetArray as unknown[]).length).toBe(4);
    expect(merged('offsetStringArray')).toEqual(metadata.offsetArray);
    expect(metadata.partitionKeyArray).toEqual([]);
    expect(metadata.propertiesArray).toEqual([{}, { color: 'red', count: 5 }, {}, {}]);
    const enqueued = metadata.enqueuedTimeUtcArray as string[];
    expect(enqueued.every((time) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/.test(time))).toBe(true);
    const system = (metadata.systemPropertiesArray as Record<string, unknown>[])[1];
    expect(system).toMatchObject({ 'x-opt-sequence-number': 1, sequenceNumber: 1, partitionKey: null });
    expect(system['x-opt-enqueued-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
    // The host never sends its `sys` binding data (ScriptInvocationContextExtensions.ShouldSkipBindingData).
    expect(metadata).not.toHaveProperty('sys');

    const checkpoint = await waitFor(
      async () =>
        (await listBlobs(backends.blobService, 'azure-webjobs-eventhub')).find(
          (blob) =>
            blob.name === `127.0.0.1/fixture/${CONSUMER_GROUP}/checkpoint/0` &&
            blob.metadata.sequencenumber === '3',
        ),
      { what: 'the checkpoint of partition 0', timeoutMs: 10_000 },
    );
    expect(checkpoint.metadata.offset).toBe(String((metadata.offsetArray as unknown[])[3]));
    await host.child.waitForLine(
      /Trigger Details: PartionId: 0, Offset: \d+-\d+, EnqueueTimeUtc: \S+, SequenceNumber: 0-\d, Count: \d/,
      5_000,
    );
  });

  test('a failing invocation is retried per the retry policy with retryContext, then checkpointed', async () => {
    await send('fixture', [
      [[{ body: Buffer.from('"retry me"'), properties: { failAttempts: 2 } }], { partitionId: '1' }],
    ]);
    const attempts = await waitFor(
      () => {
        const found = readRecords(recordFile).filter((r) => JSON.stringify(r.inputs) === '[["retry me"]]');
        return found.some((r) => r.succeeded) ? found : undefined;
      },
      { what: 'the retried invocation to succeed', timeoutMs: 30_000 },
    );
    expect(attempts.map((r) => [r.retryCount, r.succeeded, r.error ?? null])).toEqual([
      [0, false, 'failing attempt 0'],
      [1, false, 'failing attempt 1'],
      [2, true, null],
    ]);
    await host.child.waitForLine(
      /Waiting for `00:00:00` before retrying function execution\. Next attempt: '1'\. Max retry count: '3'\./,
      5_000,
    );

    // Retries exhausted: the host moves on and still checkpoints past the batch.
    await send('fixture', [
      [[{ body: Buffer.from('"always fails"'), properties: { failAttempts: 99 } }], { partitionId: '1' }],
    ]);
    const failures = await waitFor(
      () => {
        const found = readRecords(recordFile).filter(
          (r) => JSON.stringify(r.inputs) === '[["always fails"]]',
        );
        return found.length === 4 ? found : undefined;
      },
      { what: 'four failed attempts', timeoutMs: 30_000 },
    );
    expect(failures.map((r) => r.retryCount)).toEqual([0, 1, 2, 3]);
    await waitFor(
      async () =>
        (await listBlobs(backends.blobService, 'azure-webjobs-eventhub')).find(
          (blob) =>
            blob.name === `127.0.0.1/fixture/${CONSUMER_GROUP}/checkpoint/1` &&
            blob.metadata.sequencenumber === '1',
        ),
      { what: 'the checkpoint past the failed batch', timeoutMs: 10_000 },
    );
  });

  test('no dataType: Newtonsoft binds object[]; one plain-text body fails the binding, the handler is not called, retries fail alike, then the host checkpoints past the batch', async () => {
    await send('objects', [
      [
        [
          {
            body: Buffer.from('{"at":"2024-01-02T03:04:05.000Z","n":1.50}'),
            contentType: 'application/json',
          },
          { body: Buffer.from('plain text'), contentType: 'text/plain' },
        ],
        { partitionId: '0' },
      ],
    ]);
    const attempts = await waitFor(
      () => {
        const found = readRecords(recordFile).filter((r) => r.functionName === 'consumeObjects');
        return found.length >= 3 ? found : undefined;
      },
      { what: 'three failed consumeObjects attempts', timeoutMs: 30_000 },
    );
    expect(attempts.map((r) => [r.succeeded, r.retryCount, r.inputs])).toEqual([
      [false, 0, []],
      [false, 1, []],
      [false, 2, []],
    ]);
    expect(attempts[0].error).toMatch(
      /^Microsoft\.Azure\.WebJobs\.Host: Exception binding parameter 'eventHubTrigger\w+'\. Microsoft\.Azure\.WebJobs\.Host: Binding parameters to complex objects \(such as 'Object'\) uses Json\.NET serialization\./,
    );
    await host.child.waitForLine(
      /^\[\S+\] System\.Private\.CoreLib: Exception while executing function: Functions\.consumeObjects\. Microsoft\.Azure\.WebJobs\.Host: Exception binding parameter/,
      5_000,
    );
    expect(host.child.lines).toContain(
      "2. Change the queue payload to be valid json. The JSON parser failed: Unexpected character encountered while parsing value: p. Path '', line 0, position 0.",
    );
    await host.child.waitForLine(/Function execution failed after '2' retries\./, 5_000);
    expect(host.child.lines.some((line) => line.includes('consumeObjects got'))).toBe(false);
    // Like the extension: the batch is checkpointed "regardless of function success/failure".
    await waitFor(
      async () =>
        (await listBlobs(backends.blobService, 'azure-webjobs-eventhub')).find(
          (blob) =>
            blob.name === `127.0.0.1/objects/${CONSUMER_GROUP}/checkpoint/0` &&
            blob.metadata.sequencenumber === '1',
        ),
      { what: 'the checkpoint past the batch that could not be bound', timeoutMs: 10_000 },
    );

    // JSON alone binds: Newtonsoft's round trip rewrites the date and keeps the number's value.
    await send('objects', [
      [
        [{ body: Buffer.from('{"at":"2024-01-02T03:04:05.000Z","n":1.50}') }, { body: Buffer.alloc(0) }],
        { partitionId: '0' },
      ],
    ]);
    const bound = await waitFor(
      () => readRecords(recordFile).find((r) => r.functionName === 'consumeObjects' && r.succeeded),
      { what: 'a consumeObjects invocation that binds', timeoutMs: 30_000 },
    );
    expect(bound.inputs[0]).toEqual([{ at: '2024-01-02T03:04:05Z', n: 1.5 }, null]);
  });

  test('dataType binary: every body byte for byte, empty ones kept, content types in systemPropertiesArray', async () => {
    const bodies = [
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00]),
      Buffer.alloc(0),
      Buffer.from('{"a":1}'),
    ];
    await send('bytes', [
      [
        [
          { body: bodies[0], contentType: 'application/octet-stream' },
          { body: bodies[1] },
          { body: bodies[2], contentType: 'application/json' },
        ],
        { partitionId: '0' },
      ],
    ]);
    const record = await waitFor(
      () => readRecords(recordFile).find((r) => r.functionName === 'consumeBytes'),
      { what: 'the consumeBytes invocation', timeoutMs: 30_000 },
    );
    const delivered = (record.inputs[0] as { $bytes: string }[]).map((b) => Buffer.from(b.$bytes, 'base64'));
    expect(delivered).toEqual(bodies);
    const system = (record.triggerMetadata as { systemPropertiesArray: Record<string, unknown>[] })
      .systemPropertiesArray;
    expect(system.map((p) => p['content-type'] ?? null)).toEqual([
      'application/octet-stream',
      null,
      'application/json',
    ]);
  });

  test('host storage that refuses the host is named without the SAS token of its connection string', async () => {
    const storage: Server = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed' });
      res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code></Error>');
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const { port } = storage.address() as AddressInfo;
    const secret = 'sig=NotARealSignature%3D';
    const settingsFile = writeSettings(backends.dir, 'sas', {
      AzureWebJobsStorage: `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;SharedAccessSignature=sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&${secret}`,
      EventHubConnection: backends.eventHubsConnectionString,
      FIXTURE_HUB: 'fixture',
      FIXTURE_CONSUMER_GROUP: CONSUMER_GROUP,
    });
    const lines: string[] = [];
    try {
      await expect(
        startHostProcess({
          appRoot: APP_ROOT,
          port: 0,
          settingsFile,
          functions: ['consume'],
          child: { onLine: (line) => lines.push(line) },
        }),
      ).rejects.toThrow(/exited/);
    } finally {
      storage.closeAllConnections();
      await new Promise((resolve) => storage.close(resolve));
    }
    expect(lines).toContainEqual(
      expect.stringContaining(
        `Cannot reach the host storage (AzureWebJobsStorage) at http://127.0.0.1:${port}/devstoreaccount1/azure-webjobs-eventhub:`,
      ),
    );
    expect(lines.filter((line) => /sig=|sv=2022/.test(line))).toEqual([]);
  });

  test('two hosts share the partitions through blob ownership and each event is processed once', async () => {
    const hostJson = writeHostJson(backends.dir, 'balance', {
      version: '2.0',
      extensions: { eventHubs: { maxEventBatchSize: 5 } },
    });
    const common = {
      appRoot: APP_ROOT,
      port: 0,
      settingsFile: settings('balance', 'balance'),
      hostJsonFile: hostJson,
      functions: ['consume'],
      loadBalancingIntervalMs: 500,
      ownershipExpirationMs: 5_000,
    };
    const recordsA = path.join(backends.dir, 'balance-a.ndjson');
    const recordsB = path.join(backends.dir, 'balance-b.ndjson');
    const first = await startHostProcess({ ...common, recordFile: recordsA });
    const second = await startHostProcess({ ...common, recordFile: recordsB });
    try {
      const owners = await waitFor(
        async () => {
          const blobs = await listBlobs(backends.blobService, 'azure-webjobs-eventhub');
          const owned = blobs.filter((b) =>
            b.name.startsWith(`127.0.0.1/balance/${CONSUMER_GROUP}/ownership/`),
          );
          const byOwner = new Map<string, number>();
          for (const blob of owned)
            byOwner.set(blob.metadata.ownerid, (byOwner.get(blob.metadata.ownerid) ?? 0) + 1);
          const counts = [...byOwner.values()].sort();
          return owned.length === 4 && counts.join() === '2,2' ? byOwner : undefined;
        },
        { what: 'each host to own two partitions', timeoutMs: 30_000 },
      );
      expect(owners.size).toBe(2);

      const total = 40;
      await send(
        'balance',
        [0, 1, 2, 3].map((partition) => [
          Array.from({ length: total / 4 }, (_, i) => ({
            body: Buffer.from(JSON.stringify({ n: partition * 10 + i })),
          })),
          { partitionId: String(partition) },
        ]),
      );
      const seen = await waitFor(
        () => {
          const all = [...readRecords(recordsA), ...readRecords(recordsB)].flatMap(
            (r) => r.inputs[0] as { n: number }[],
          );
          return all.length >= total ? all : undefined;
        },
        { what: 'all events processed by the two hosts', timeoutMs: 30_000 },
      );
      expect(seen.map((e) => e.n).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));

      const partitionsOf = (file: string) =>
        new Set(
          readRecords(file).map(
            (r) =>
              (r.triggerMetadata as { partitionContext: { partitionId: string } }).partitionContext
                .partitionId,
          ),
        );
      const a = partitionsOf(recordsA);
      const b = partitionsOf(recordsB);
      expect(a.size).toBeGreaterThan(0);
      expect(b.size).toBeGreaterThan(0);
      expect([...a].filter((p) => b.has(p))).toEqual([]);
      const batchSizes = [...readRecords(recordsA), ...readRecords(recordsB)].map(
        (r) => (r.inputs[0] as unknown[]).length,
      );
      expect(Math.max(...batchSizes)).toBeLessThanOrEqual(5);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});
