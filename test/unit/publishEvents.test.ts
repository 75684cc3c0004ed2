import { MessagingError } from '@azure/event-hubs';
import type { HttpResponseInit } from '@azure/functions';
import { createPublishEventsHandler } from '../../src/functions/publishEvents';
import { SETTING_NAMES, SettingsError, type PublisherSettings } from '../../src/lib/settings';
import { InMemoryProducer } from './support/inMemoryProducer';
import { capturingContext, eventsRequest, type RequestOptions } from './support/invocation';

const DEFAULT_SETTINGS: PublisherSettings = {
  maxRequestBytes: 4096,
  maxEventsPerRequest: 100,
  publishTimeoutMs: 2000,
};

function setup(producer = new InMemoryProducer(), settings: Partial<PublisherSettings> = {}) {
  const handler = createPublishEventsHandler({
    readSettings: () => ({ ...DEFAULT_SETTINGS, ...settings }),
    getProducer: () => producer,
  });
  const { context, logs } = capturingContext();
  const send = async (options: RequestOptions) =>
    (await handler(eventsRequest(options), context)) as HttpResponseInit;
  return { producer, send, logs };
}

function messagingError(
  code: string,
  retryable: boolean,
  message = `${code} from the service`,
): MessagingError {
  const error = new MessagingError(message);
  error.code = code;
  error.retryable = retryable;
  return error;
}

const bodyText = (body: unknown) => (body as Buffer).toString('utf8');

describe('publishEvents: accepted request forms', () => {
  test('application/json object is one event, published byte for byte', async () => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'application/json',
      body: '{ "id": 1, "big": 12345678901234567890 }',
    });
    expect(response.status).toBe(202);
    expect(response.jsonBody).toEqual({
      eventsAccepted: 1,
      batchesSent: 1,
      routing: { type: 'roundRobin' },
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    });
    expect(producer.sentEvents).toHaveLength(1);
    expect(bodyText(producer.sentEvents[0].body)).toBe('{ "id": 1, "big": 12345678901234567890 }');
    expect(producer.sentEvents[0].contentType).toBe('application/json');
  });

  test('application/json array is one event per element, in order', async () => {
    const { producer, send } = setup(new InMemoryProducer(undefined, 2048));
    const response = await send({
      contentType: 'application/json; charset=utf-8',
      body: '[{"a":1}, 2, "three", [4], true, {"nested": {"x": [1, 2]}}]',
    });
    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ eventsAccepted: 6, batchesSent: 1 });
    expect(producer.sentEvents.map((event) => bodyText(event.body))).toEqual([
      '{"a":1}',
      '2',
      '"three"',
      '[4]',
      'true',
      '{"nested": {"x": [1, 2]}}',
    ]);
  });

  test('application/json scalar is one event', async () => {
    const { producer, send } = setup();
    expect((await send({ contentType: 'application/json', body: ' 42 ' })).status).toBe(202);
    expect(bodyText(producer.sentEvents[0].body)).toBe('42');
  });

  test('application/x-ndjson is one event per non-blank line (LF or CRLF)', async () => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'application/x-ndjson',
      body: '{"n":1}\r\n\n  [1,2]  \n"x"\n',
    });
    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ eventsAccepted: 3 });
    expect(producer.sentEvents.map((event) => bodyText(event.body))).toEqual(['{"n":1}', '[1,2]', '"x"']);
    expect(producer.sentEvents.every((event) => event.contentType === 'application/json')).toBe(true);
  });

  test('text/plain is one event with the text as sent', async () => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'text/plain; charset=UTF-8',
      body: 'hello, wörld\nsecond line',
    });
    expect(response.status).toBe(202);
    expect(bodyText(producer.sentEvents[0].body)).toBe('hello, wörld\nsecond line');
    expect(producer.sentEvents[0].contentType).toBe('text/plain');
  });

  test('application/octet-stream is one event with the bytes as sent', async () => {
    const { producer, send } = setup();
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41]);
    const response = await send({ contentType: 'application/octet-stream', body: bytes });
    expect(response.status).toBe(202);
    expect(Buffer.compare(producer.sentEvents[0].body as Buffer, bytes)).toBe(0);
    expect(producer.sentEvents[0].contentType).toBe('application/octet-stream');
  });

  test('partitionKey routes every batch by that key', async () => {
    const { producer, send } = setup();
    const response = await send({
      query: 'partitionKey=device-7',
      contentType: 'application/json',
      body: '[1,2]',
    });
    expect(response.jsonBody).toEqual({
      eventsAccepted: 2,
      batchesSent: 1,
      routing: { type: 'partitionKey', partitionKey: 'device-7' },
      traceparent: expect.any(String),
    });
    expect(producer.sent[0].partitionKey).toBe('device-7');
    expect(producer.sent[0].partitionId).toBeUndefined();
  });

  test('partitionId routes to that partition; the partition ids are looked up once', async () => {
    const { producer, send } = setup();
    for (let i = 0; i < 3; i++) {
      const response = await send({
        query: 'partitionId=2',
        contentType: 'application/json',
        body: '{"i":1}',
      });
      expect(response.status).toBe(202);
      expect(response.jsonBody).toMatchObject({ routing: { type: 'partitionId', partitionId: '2' } });
    }
    expect(producer.sent.map((batch) => batch.partitionId)).toEqual(['2', '2', '2']);
    expect(producer.partitionIdsCalls).toBe(1);
  });

  test('a partition id not seen yet is looked up again, at most once a minute (partition counts can grow)', async () => {
    const producer = new InMemoryProducer(['0', '1']);
    const { send } = setup(producer);
    const request = { query: 'partitionId=2', contentType: 'application/json', body: '1' };
    expect((await send(request)).status).toBe(400);
    expect((await send(request)).status).toBe(400);
    expect(producer.partitionIdsCalls).toBe(1);
    producer.partitionIds.push('2');
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect((await send(request)).status).toBe(202);
    } finally {
      clock.mockRestore();
    }
    expect(producer.partitionIdsCalls).toBe(2);
  });

  test('x-event-properties apply to every event; the function key query parameter is ignored', async () => {
    const { producer, send } = setup();
    const response = await send({
      query: 'code=secret-function-key',
      contentType: 'application/x-ndjson',
      headers: { 'x-event-properties': '{"source":"sensor-1","priority":3,"poison":false}' },
      body: '1\n2',
    });
    expect(response.status).toBe(202);
    for (const event of producer.sentEvents) {
      expect(event.properties).toMatchObject({ source: 'sensor-1', priority: 3, poison: false });
    }
  });

  test('events that do not fit one batch are packed into as few batches as possible, in order', async () => {
    const producer = new InMemoryProducer(undefined, 500);
    const { send } = setup(producer);
    const events = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(40) }));
    const response = await send({ contentType: 'application/json', body: `[${events.join(',')}]` });
    expect(response.status).toBe(202);
    // In-memory sizes: 24 bytes per batch + (16 + 56 + 147 of trace properties) per event: two fit in 500 bytes.
    expect(response.jsonBody).toMatchObject({ eventsAccepted: 10, batchesSent: 5 });
    expect(producer.sent.map((batch) => batch.events.length)).toEqual([2, 2, 2, 2, 2]);
    expect(producer.sentEvents.map((event) => bodyText(event.body))).toEqual(events);
  });
});

describe('publishEvents: errors', () => {
  test.each(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])('%s gets 405 with Allow: POST', async (method) => {
    const { producer, send } = setup();
    const response = await send({
      method,
      contentType: 'application/json',
      body: method === 'GET' ? undefined : '1',
    });
    expect(response.status).toBe(405);
    expect(response.headers).toMatchObject({ Allow: 'POST' });
    expect(response.jsonBody).toEqual({
      error: { code: 'method_not_allowed', message: `${method} is not allowed; publish events with POST.` },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test('HEAD gets 405 without a body', async () => {
    const { send } = setup();
    const response = await send({ method: 'HEAD' });
    expect(response.status).toBe(405);
    expect(response.headers).toMatchObject({ Allow: 'POST' });
    expect(response.jsonBody).toBeUndefined();
  });

  test.each([
    [undefined, 'A Content-Type header is required'],
    ['application/xml', 'Content-Type "application/xml" is not supported'],
    [
      'application/x-www-form-urlencoded',
      'Content-Type "application/x-www-form-urlencoded" is not supported',
    ],
    ['text/plain; charset=iso-8859-1', 'Only UTF-8 text is accepted'],
  ])('Content-Type %s gets 415 listing the accepted types', async (contentType, message) => {
    const { producer, send } = setup();
    // Bytes, as the host delivers bodies: a string body would make fetch's Request add text/plain itself.
    const response = await send({ contentType, body: Buffer.from('{}') });
    expect(response.status).toBe(415);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'unsupported_media_type',
        message: expect.stringContaining(message),
        accepted: ['application/json', 'application/x-ndjson', 'text/plain', 'application/octet-stream'],
      },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test('a body over MAX_REQUEST_BYTES gets 413', async () => {
    const { producer, send } = setup(undefined, { maxRequestBytes: 100 });
    const response = await send({ contentType: 'text/plain', body: 'x'.repeat(101) });
    expect(response.status).toBe(413);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'request_too_large',
        message: 'The request body is larger than 100 bytes.',
        maxRequestBytes: 100,
      },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test('a declared Content-Length over MAX_REQUEST_BYTES gets 413 before the body is read', async () => {
    const { send } = setup(undefined, { maxRequestBytes: 100 });
    const response = await send({
      contentType: 'text/plain',
      headers: { 'content-length': '5000' },
      body: 'x',
    });
    expect(response.status).toBe(413);
    expect(response.jsonBody).toMatchObject({ error: { code: 'request_too_large' } });
  });

  test('a body of exactly MAX_REQUEST_BYTES is accepted', async () => {
    const { send } = setup(undefined, { maxRequestBytes: 100 });
    expect((await send({ contentType: 'text/plain', body: 'x'.repeat(100) })).status).toBe(202);
  });

  test('an event that can never fit in a batch gets 413 naming its index, and nothing is sent', async () => {
    const producer = new InMemoryProducer(undefined, 200);
    const { send } = setup(producer);
    const response = await send({ contentType: 'application/json', body: `[1, 2, "${'x'.repeat(300)}", 4]` });
    expect(response.status).toBe(413);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'event_too_large',
        message:
          'Event 2 is larger than the largest batch Event Hubs accepts (200 bytes); nothing was published',
        index: 2,
        maxBatchBytes: 200,
        eventsAccepted: 0,
        eventsUnconfirmed: 0,
      },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test('an oversize first event is reported as index 0', async () => {
    const producer = new InMemoryProducer(undefined, 100);
    const { send } = setup(producer);
    const response = await send({ contentType: 'application/octet-stream', body: Buffer.alloc(500) });
    expect(response.status).toBe(413);
    expect(response.jsonBody).toMatchObject({ error: { code: 'event_too_large', index: 0 } });
  });

  test.each([
    ['{"a":}', 5, 1, 6],
    ['[1, 2', 5, 1, 6],
    ['{\n  "a": 1,\n  "b": tru\n}', 19, 3, 8],
    ['{"a":1} {"b":2}', 8, 1, 9],
  ])(
    'malformed JSON %j gets 400 with position %i (line %i, column %i)',
    async (body, position, line, column) => {
      const { producer, send } = setup();
      const response = await send({ contentType: 'application/json', body });
      expect(response.status).toBe(400);
      expect(response.jsonBody).toEqual({
        error: {
          code: 'invalid_json',
          message: expect.stringContaining(`at position ${position} (line ${line}, column ${column})`),
          position,
          line,
          column,
        },
      });
      expect(producer.sent).toHaveLength(0);
    },
  );

  test('malformed NDJSON gets 400 with the line number, and nothing is sent', async () => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'application/x-ndjson',
      body: '{"ok":1}\n\n{"bad": }\n{"ok":2}',
    });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'invalid_ndjson',
        message: `Line 3 is not valid JSON: Expected a JSON value but found "}" at column 9.`,
        line: 3,
        column: 9,
      },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test('an NDJSON line with two values gets 400', async () => {
    const { send } = setup();
    const response = await send({ contentType: 'application/x-ndjson', body: '1 2' });
    expect(response.jsonBody).toMatchObject({ error: { code: 'invalid_ndjson', line: 1, column: 3 } });
  });

  test.each([
    ['application/json', ''],
    ['application/x-ndjson', ''],
    ['text/plain', ''],
    ['application/octet-stream', ''],
    ['application/json', '  \n '],
    ['application/x-ndjson', '\n\r\n  \n'],
  ])('%s with body %j gets 400 empty_body', async (contentType, body) => {
    const { send } = setup();
    const response = await send({ contentType, body });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({ error: { code: 'empty_body' } });
  });

  test('an empty JSON array gets 400 empty_array', async () => {
    const { send } = setup();
    const response = await send({ contentType: 'application/json', body: ' [ ] ' });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: { code: 'empty_array', message: 'The body is an empty JSON array; send at least one event.' },
    });
  });

  test('a null event gets 400 naming its index (consumers would silently drop it)', async () => {
    const { send } = setup();
    const array = await send({ contentType: 'application/json', body: '[1, null]' });
    expect(array.jsonBody).toMatchObject({ error: { code: 'null_event', index: 1 } });
    const ndjson = await send({ contentType: 'application/x-ndjson', body: '1\n\nnull' });
    expect(ndjson.jsonBody).toMatchObject({ error: { code: 'null_event', index: 1, line: 3 } });
    const single = await send({ contentType: 'application/json', body: 'null' });
    expect(single.jsonBody).toMatchObject({ error: { code: 'null_event', index: 0 } });
  });

  test('a body that is not UTF-8 gets 400 for the text types', async () => {
    const { send } = setup();
    const response = await send({ contentType: 'application/json', body: Buffer.from([0x22, 0xff, 0x22]) });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: { code: 'invalid_utf8', message: 'The body is not valid UTF-8.' },
    });
  });

  test('both partitionKey and partitionId get 400', async () => {
    const { producer, send } = setup();
    const response = await send({
      query: 'partitionKey=a&partitionId=1',
      contentType: 'application/json',
      body: '1',
    });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: { code: 'conflicting_routing', message: 'Give either partitionKey or partitionId, not both.' },
    });
    expect(producer.partitionIdsCalls).toBe(0);
  });

  test.each([
    ['partitionKey=', 'partitionKey must not be empty.'],
    ['partitionId=', 'partitionId must not be empty.'],
    ['partitionKey=a&partitionKey=b', 'partitionKey may be given only once.'],
    ['partitionId=1&partitionId=2', 'partitionId may be given only once.'],
  ])('routing %s gets 400 invalid_routing', async (query, message) => {
    const { send } = setup();
    const response = await send({ query, contentType: 'application/json', body: '1' });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({ error: { code: 'invalid_routing', message } });
  });

  test('an unknown partition id gets 400 listing the valid ids, and nothing is sent', async () => {
    const { producer, send } = setup();
    const response = await send({ query: 'partitionId=9', contentType: 'application/json', body: '1' });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'unknown_partition_id',
        message: 'The event hub has no partition "9"; valid ids: 0, 1, 2, 3.',
        partitionIds: ['0', '1', '2', '3'],
      },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test.each([
    ['not json', 'is not valid JSON'],
    ['[1,2]', 'must be a JSON object'],
    ['"text"', 'must be a JSON object'],
    ['{"nested":{"a":1}}', 'Property "nested" in x-event-properties must be a string, number or boolean.'],
    ['{"nothing":null}', 'Property "nothing" in x-event-properties must be a string, number or boolean.'],
    ['{"list":[1]}', 'Property "list" in x-event-properties must be a string, number or boolean.'],
    ['{"":"x"}', 'has an empty property name'],
  ])('x-event-properties %s gets 400', async (header, message) => {
    const { send } = setup();
    const response = await send({
      contentType: 'application/json',
      headers: { 'x-event-properties': header },
      body: '1',
    });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'invalid_event_properties',
        message: expect.stringContaining(message),
        ...(message.startsWith('Property') ? { property: expect.any(String) } : {}),
      },
    });
  });
});

describe('publishEvents: Event Hubs failures', () => {
  test.each([
    ['ServerBusyError', true],
    ['ServiceUnavailableError', true],
    ['ECONNREFUSED', true],
    ['EAI_AGAIN', false],
  ])('%s before anything is sent gets 503 with Retry-After', async (code, retryable) => {
    const producer = new InMemoryProducer();
    producer.createBatchFailure = messagingError(code, retryable);
    const { send, logs } = setup(producer);
    const response = await send({ contentType: 'application/json', body: '[1,2]' });
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5' });
    expect(response.jsonBody).toEqual({
      error: {
        code: 'event_hubs_unavailable',
        message: 'Event Hubs is unavailable or busy. No event was published.',
        eventsAccepted: 0,
        eventsUnconfirmed: 0,
        retryFromIndex: 0,
        retryAfterSeconds: 5,
      },
    });
    expect(logs).toEqual([
      {
        level: 'warning',
        message: expect.stringMatching(/^PublishFailed \{"status":503,.*"error":"MessagingError/),
      },
    ]);
  });

  test('the partition lookup failing gets 503', async () => {
    const producer = new InMemoryProducer();
    producer.partitionIdsFailure = messagingError('ServiceUnavailableError', true);
    const { send } = setup(producer);
    const response = await send({ query: 'partitionId=1', contentType: 'application/json', body: '1' });
    expect(response.status).toBe(503);
  });

  test('a silent Event Hubs gets 503 event_hubs_timeout; the batch in flight is reported unconfirmed', async () => {
    const producer = new InMemoryProducer();
    producer.hangOnSend = true;
    const { send } = setup(producer, { publishTimeoutMs: 50 });
    const response = await send({ contentType: 'application/json', body: '[1,2,3]' });
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5' });
    expect(response.jsonBody).toEqual({
      error: {
        code: 'event_hubs_timeout',
        message:
          'Event Hubs did not answer in time. No event was confirmed by Event Hubs. Events 0 to 2 (batch 1 of 1) ' +
          'were sent without an answer and may be stored: retrying from index 0 may duplicate them.',
        eventsAccepted: 0,
        eventsUnconfirmed: 3,
        retryFromIndex: 0,
        retryAfterSeconds: 5,
      },
    });
  });

  test('the deadline expiring during a later batch: confirmed events, then the unconfirmed batch in flight', async () => {
    const producer = new InMemoryProducer(undefined, 500);
    producer.hangOnSendCall = 1;
    const { send } = setup(producer, { publishTimeoutMs: 50 });
    const events = Array.from({ length: 6 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(40) }));
    const response = await send({ contentType: 'application/json', body: `[${events.join(',')}]` });
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'event_hubs_timeout',
        message:
          'Event Hubs did not answer in time. The first 2 events were published. Events 2 to 3 (batch 2 of 3) ' +
          'were sent without an answer and may be stored: retrying from index 2 may duplicate them.',
        eventsAccepted: 2,
        eventsUnconfirmed: 2,
        retryFromIndex: 2,
        retryAfterSeconds: 5,
      },
    });
  });

  test.each([
    ['a refusal of every attempt', [messagingError('ServerBusyError', true)], 0],
    ['a connection lost mid-send', [messagingError('ConnectionLostError', true)], 2],
    [
      'a timed-out attempt, then a refusal',
      [messagingError('OperationTimeoutError', true), messagingError('ServerBusyError', true)],
      2,
    ],
    ['an error without a code', [new Error('something else')], 2],
  ])('a send failing with %s counts its batch unconfirmed: %#', async (_name, attempts, unconfirmed) => {
    const producer = new InMemoryProducer();
    producer.sendFailures.set(0, attempts.length === 1 ? attempts[0] : new AggregateError(attempts));
    const { send } = setup(producer);
    const response = await send({ contentType: 'application/json', body: '[1,2]' });
    expect(response.jsonBody).toMatchObject({
      error: { eventsAccepted: 0, eventsUnconfirmed: unconfirmed, retryFromIndex: 0 },
    });
  });

  test('a later batch failing reports exactly how many events were accepted and where to retry', async () => {
    const producer = new InMemoryProducer(undefined, 500);
    producer.sendFailures.set(1, messagingError('ServerBusyError', true));
    const { send } = setup(producer);
    const events = Array.from({ length: 6 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(40) }));
    const response = await send({ contentType: 'application/json', body: `[${events.join(',')}]` });
    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'event_hubs_unavailable',
        message: 'Event Hubs is unavailable or busy. The first 2 events were published. Retry from index 2.',
        eventsAccepted: 2,
        eventsUnconfirmed: 0,
        retryFromIndex: 2,
        retryAfterSeconds: 5,
      },
    });
    expect(producer.sentEvents.map((event) => bodyText(event.body))).toEqual(events.slice(0, 2));
  });

  test('Event Hubs refusing a batch as too large gets 413 batch_too_large with the progress', async () => {
    const producer = new InMemoryProducer();
    producer.sendFailures.set(0, messagingError('MessageTooLargeError', false));
    const { send } = setup(producer);
    const response = await send({ contentType: 'application/json', body: '[1]' });
    expect(response.status).toBe(413);
    expect(response.jsonBody).toMatchObject({
      error: { code: 'batch_too_large', eventsAccepted: 0, retryFromIndex: 0 },
    });
  });

  test('Event Hubs refusing a partition id gets 400 unknown_partition_id', async () => {
    const producer = new InMemoryProducer();
    producer.sendFailures.set(0, messagingError('ArgumentOutOfRangeError', false));
    const { send } = setup(producer);
    const response = await send({ query: 'partitionId=1', contentType: 'application/json', body: '1' });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({ error: { code: 'unknown_partition_id' } });
  });

  test('a configuration fault (no role assignment) gets 500 without internal details', async () => {
    const producer = new InMemoryProducer();
    const unauthorized = messagingError(
      'UnauthorizedError',
      true,
      'Unauthorized access. Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=c2VjcmV0',
    );
    // The SDK retries it (retryable) and then throws every attempt's error as one AggregateError.
    producer.createBatchFailure = new AggregateError([unauthorized, unauthorized, unauthorized]);
    const { send, logs } = setup(producer);
    const response = await send({ contentType: 'application/json', body: '1' });
    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'publish_failed',
        message: "Publishing failed; see the function's logs. No event was published.",
        eventsAccepted: 0,
        eventsUnconfirmed: 0,
        retryFromIndex: 0,
      },
    });
    expect(JSON.stringify(response)).not.toContain('c2VjcmV0');
    expect(logs).toHaveLength(1);
    expect(logs[0].level).toBe('error');
    expect(logs[0].message).toContain('UnauthorizedError');
    expect(logs[0].message).toContain('(last of 3 attempts)');
    expect(logs[0].message).toContain('SharedAccessKey=<redacted>');
    expect(logs[0].message).not.toContain('c2VjcmV0');
  });

  test('a missing setting gets 500 configuration_error; the log names the setting', async () => {
    const handler = createPublishEventsHandler({
      readSettings: () => DEFAULT_SETTINGS,
      getProducer: () => {
        throw new SettingsError(SETTING_NAMES.eventHubName, 'EVENTHUB_NAME is not set');
      },
    });
    const { context, logs } = capturingContext();
    const response = (await handler(
      eventsRequest({ contentType: 'application/json', body: '1' }),
      context,
    )) as HttpResponseInit;
    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: { code: 'configuration_error', message: "The app is misconfigured; see the function's logs." },
    });
    expect(logs).toEqual([{ level: 'error', message: 'Configuration error: EVENTHUB_NAME is not set' }]);
  });
});

describe('publishEvents: hostile input (issue 11)', () => {
  test.each([
    ['a JSON array element', 'application/json', (deep: string) => `[1, ${deep}]`, 1],
    ['a single JSON value', 'application/json', (deep: string) => deep, 0],
    ['an NDJSON line', 'application/x-ndjson', (deep: string) => `1\n${deep}`, 1],
  ])(
    'nesting 100,000 levels deep in %s gets 400 json_too_deep naming the event, and nothing is sent',
    async (_where, contentType, body, index) => {
      const { producer, send } = setup(undefined, { maxRequestBytes: 1_000_000 });
      const depth = 100_000;
      const response = await send({ contentType, body: body('['.repeat(depth) + ']'.repeat(depth)) });
      expect(response.status).toBe(400);
      expect(response.jsonBody).toMatchObject({
        error: {
          code: 'json_too_deep',
          message: expect.stringContaining(`Event ${index} nests arrays and objects deeper than 64 levels`),
          maxDepth: 64,
          index,
        },
      });
      expect(producer.sent).toHaveLength(0);
    },
  );

  test('64 levels of nesting per event are accepted; the array around JSON events does not count', async () => {
    const { producer, send } = setup();
    const event = '{"a":'.repeat(63) + '[1]' + '}'.repeat(63);
    expect((await send({ contentType: 'application/json', body: `[${event}]` })).status).toBe(202);
    expect((await send({ contentType: 'application/json', body: event })).status).toBe(202);
    expect((await send({ contentType: 'application/x-ndjson', body: event })).status).toBe(202);
    expect(producer.sentEvents.map((sent) => bodyText(sent.body))).toEqual([event, event, event]);
    const deeper = `[${event}]`;
    const refused = await send({ contentType: 'application/x-ndjson', body: deeper });
    expect(refused.jsonBody).toMatchObject({ error: { code: 'json_too_deep', line: 1, column: 2 + 63 * 5 } });
  });

  test.each([
    ['1e19', '1e19'],
    ['2^63-1', '9223372036854775807'],
    ['2^63', '9223372036854775808'],
    ['beyond int64', '123456789012345678901234567890'],
    ['1e300', '1e300'],
    ['1e400 (Infinity)', '1e400'],
    ['2^53+1 (rounded by JSON.parse)', '9007199254740993'],
    ['-(2^53)', '-9007199254740992'],
  ])('an x-event-properties number %s gets 400 naming the property', async (_name, value) => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'application/json',
      headers: { 'x-event-properties': `{"ok":1,"count":${value}}` },
      body: '1',
    });
    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: {
        code: 'invalid_event_properties',
        message: expect.stringMatching(
          /^Property "count" in x-event-properties is a number that does not survive/,
        ),
        property: 'count',
      },
    });
    expect(producer.sent).toHaveLength(0);
  });

  test('x-event-properties numbers within the safe range, and fractions, are published as sent', async () => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'application/json',
      headers: {
        'x-event-properties': '{"max":9007199254740991,"min":-9007199254740991,"ratio":0.25}',
      },
      body: '1',
    });
    expect(response.status).toBe(202);
    expect(producer.sentEvents[0].properties).toEqual({
      max: 9007199254740991,
      min: -9007199254740991,
      ratio: 0.25,
      traceparent: expect.any(String),
      'Diagnostic-Id': expect.any(String),
    });
  });

  test('a property named "__proto__" is published like any other (found by the property-based run)', async () => {
    const { producer, send } = setup();
    const response = await send({
      contentType: 'application/json',
      headers: { 'x-event-properties': '{"__proto__":false,"constructor":"c"}' },
      body: '1',
    });
    expect(response.status).toBe(202);
    const properties = producer.sentEvents[0].properties!;
    expect(Object.keys(properties)).toEqual(['__proto__', 'constructor', 'traceparent', 'Diagnostic-Id']);
    expect(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value).toBe(false);
  });

  test.each([
    ['application/json', (n: number) => `[${Array(n).fill('1').join(',')}]`],
    ['application/x-ndjson', (n: number) => Array(n).fill('1').join('\n')],
  ])(
    '%s with more than MAX_EVENTS_PER_REQUEST events gets 413 too_many_events',
    async (contentType, body) => {
      const { producer, send } = setup(undefined, { maxEventsPerRequest: 100 });
      expect((await send({ contentType, body: body(100) })).status).toBe(202);
      const response = await send({ contentType, body: body(101) });
      expect(response.status).toBe(413);
      expect(response.jsonBody).toEqual({
        error: {
          code: 'too_many_events',
          message: 'The request holds more than 100 events; split it into several requests.',
          maxEventsPerRequest: 100,
        },
      });
      expect(producer.sentEvents).toHaveLength(100);
    },
  );

  test('520,000 tiny events in 1 MiB are refused before any packing', async () => {
    const { producer, send } = setup(undefined, {
      maxRequestBytes: 2 * 1024 * 1024,
      maxEventsPerRequest: 10_000,
    });
    const response = await send({
      contentType: 'application/json',
      body: `[${Array(520_000).fill('1').join(',')}]`,
    });
    expect(response.jsonBody).toMatchObject({
      error: { code: 'too_many_events', maxEventsPerRequest: 10_000 },
    });
    expect(producer.createBatchCalls).toBe(0);
  });

  test('packing 10,000 events lets other work run in between (it yields to the event loop)', async () => {
    const { producer, send } = setup(undefined, { maxRequestBytes: 1_000_000, maxEventsPerRequest: 10_000 });
    let turns = 0;
    let done = false;
    const other = () => {
      if (done) return;
      turns += 1;
      setImmediate(other);
    };
    setImmediate(other);
    const response = await send({
      contentType: 'application/json',
      body: `[${Array(10_000).fill('1').join(',')}]`,
    });
    done = true;
    expect(response.status).toBe(202);
    expect(producer.sentEvents).toHaveLength(10_000);
    expect(turns).toBeGreaterThanOrEqual(10);
  });

  test.each([
    [{}, 'without a Content-Length header'],
    [{ 'transfer-encoding': 'chunked' }, 'with Transfer-Encoding "chunked"'],
  ])(
    'a POST the host passed without a body, because it had no Content-Length (%j), gets 411 length_required',
    async (headers, how) => {
      const { producer, send } = setup();
      const response = await send({ contentType: 'application/json', headers, contentLength: false });
      expect(response.status).toBe(411);
      expect(response.jsonBody).toEqual({
        error: {
          code: 'length_required',
          message:
            `The request was sent ${how}; the Functions host passes no body without one. ` +
            'Send the body with a Content-Length header (buffer it instead of streaming it).',
        },
      });
      expect(producer.sent).toHaveLength(0);
    },
  );

  test('a body with Content-Length 0 is still 400 empty_body', async () => {
    const { send } = setup();
    const response = await send({ contentType: 'application/json', headers: { 'content-length': '0' } });
    expect(response.jsonBody).toMatchObject({ error: { code: 'empty_body' } });
  });

  test('an unexpected fault gets a JSON 500 internal_error, logged, never a thrown invocation', async () => {
    const handler = createPublishEventsHandler({
      readSettings: () => DEFAULT_SETTINGS,
      getProducer: () => {
        throw new TypeError('unexpected');
      },
    });
    const { context, logs } = capturingContext();
    const response = (await handler(
      eventsRequest({ contentType: 'application/json', body: '1' }),
      context,
    )) as HttpResponseInit;
    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: { code: 'internal_error', message: "The request failed unexpectedly; see the function's logs." },
    });
    expect(logs).toEqual([
      {
        level: 'error',
        message: expect.stringMatching(/^PublishFailed .*"code":"internal_error".*TypeError/),
      },
    ]);
  });
});
