// The local Functions host's HTTP side as a user runs it (`tsx local/host/cli.ts`), against a small
// fixture app (test/e2e/fixtures/hostApp): HTTP in and out exactly as the app returns it, Core
// Tools-style logs, hooks, the host web server's rules, and the real app's HTTP function behind it.
import path from 'node:path';
import { readRecords } from '../../local/host/recorder';
import { startHostProcess, type HostProcess } from '../../local/stack/processes';
import { startAppHost } from './support/app';
import { type Backends } from './support/backends';
import { BODY_LIMIT, fixtureSettings, startFixtureHost, stopFixtureHost } from './support/hostFixture';
import { rawExchange, rawRequest } from './support/rawHttp';
import { partitionEnds } from '../support/partitionEnds';
import { waitFor } from '../support/waitFor';

jest.setTimeout(120_000);

let backends: Backends;
let host: HostProcess;
let recordFile: string;
const settings = (name: string, hub: string) => fixtureSettings(backends, name, hub);

beforeAll(async () => {
  ({ backends, host, recordFile } = await startFixtureHost());
});

afterAll(async () => {
  await stopFixtureHost({ host, backends });
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
  const ends = () => partitionEnds(backends.eventHubsConnectionString, 'app');

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
