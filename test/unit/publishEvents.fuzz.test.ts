// Property-based tests of POST /api/events: random and mutated JSON, NDJSON, text, bytes, headers,
// queries, methods and Event Hubs faults against the real handler (the library's HttpRequest, an
// in-memory producer). Invariants: bad input is never a 5xx; a 4xx publishes nothing; a 202 publishes
// exactly the events the body holds; a failure's counts match what the producer stored.
// Each JSON/NDJSON answer is checked against JSON.parse as an independent referee.
//
// CI runs FUZZ_RUNS (default 150) cases per property; `npm run fuzz:publish` runs many more. The runs
// and seeds are printed; FUZZ_SEED=<seed> replays a run.
import type { HttpResponseInit } from '@azure/functions';
import { MessagingError } from '@azure/event-hubs';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { isDeepStrictEqual } from 'node:util';
import { createPublishEventsHandler } from '../../src/functions/publishEvents';
import { MAX_EVENT_DEPTH } from '../../src/lib/http/bodySplitting';
import type { PublisherSettings } from '../../src/lib/settings';
import { InMemoryProducer } from './support/inMemoryProducer';
import { capturingContext, eventsRequest, type RequestOptions } from './support/invocation';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SETTINGS: PublisherSettings = {
  maxRequestBytes: 64 * 1024,
  maxEventsPerRequest: 50,
  publishTimeoutMs: 60_000,
};
/** Short, so that a send that never answers costs little; only the fault property uses it. */
const HANG_TIMEOUT_MS = 100;
const PARTITIONS = ['0', '1', '2', '3'];
const summary: string[] = [];

jest.setTimeout(Math.max(30_000, RUNS * 50));

afterAll(() => {
  process.stdout.write(`publishEvents properties:\n${summary.map((line) => `  ${line}\n`).join('')}`);
});

/** Runs one property, records its run count and seed, and fails with fast-check's report. */
async function check<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>) {
  const details = await fc.check(fc.asyncProperty(arbitrary, predicate), { numRuns: RUNS, seed: SEED });
  summary.push(`${name}: ${details.numRuns} runs, seed ${details.seed}${details.failed ? ' FAILED' : ''}`);
  if (details.failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${fc.defaultReportMessage(details)}\nError: ${cause}`);
  }
}

interface Outcome {
  status: number;
  code?: string;
  body: Record<string, unknown>;
  producer: InMemoryProducer;
  options: RequestOptions;
}

async function send(
  options: RequestOptions,
  producer = new InMemoryProducer(PARTITIONS, 1024 * 1024),
  settings = SETTINGS,
) {
  const handler = createPublishEventsHandler({ readSettings: () => settings, getProducer: () => producer });
  const { context } = capturingContext();
  const response = (await handler(eventsRequest(options), context)) as HttpResponseInit;
  const body = (response.jsonBody ?? {}) as Record<string, unknown>;
  const code = (body.error as { code?: string } | undefined)?.code;
  return { status: response.status ?? 200, code, body, producer, options } satisfies Outcome;
}

/** Never a 5xx for input alone; a refusal sends nothing. */
function expectNoFaultNoPartialPublish(outcome: Outcome): void {
  if (outcome.status >= 500) throw new Error(`${outcome.status} ${JSON.stringify(outcome.body)}`);
  if (outcome.status >= 400 && outcome.producer.sent.length > 0) {
    throw new Error(
      `${outcome.status} ${outcome.code} but ${outcome.producer.sentEvents.length} events were sent`,
    );
  }
}

function expectRefused(outcome: Outcome, allowed: string[]): void {
  if (outcome.code === undefined || !allowed.includes(outcome.code)) {
    throw new Error(
      `expected one of ${allowed.join(', ')}, got ${outcome.status} ${JSON.stringify(outcome.body)}`,
    );
  }
}

const texts = (producer: InMemoryProducer) =>
  producer.sentEvents.map((event) => (event.body as Buffer).toString('utf8'));

// ---- Mutations: the bytes a careless or hostile client sends. --------------------------------------

const TOKENS = [
  '[',
  ']',
  '{',
  '}',
  '"',
  ',',
  ':',
  '\\',
  '\n',
  '\r\n',
  ' ',
  'null',
  'true',
  '-',
  '0',
  '1e999',
  '-0',
  '9007199254740993',
  '\\u0000',
  '\\ud800',
  '\u2028',
  '\ufeff',
  '[{"a":'.repeat(40),
  ']'.repeat(70),
].map((token) => Buffer.from(token, 'utf8'));
const BAD_BYTES = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x00], [0xef, 0xbb, 0xbf]].map(
  (bytes) => Buffer.from(bytes),
);

type Mutation = {
  kind: 'insert' | 'delete' | 'replace' | 'duplicate' | 'truncate';
  at: number;
  size: number;
  piece: Buffer;
};

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate', 'truncate'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  size: fc.integer({ min: 1, max: 8 }),
  piece: fc.oneof(
    fc.constantFrom(...TOKENS, ...BAD_BYTES),
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map(Buffer.from),
  ),
});

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let bytes = input;
  for (const { kind, at, size, piece } of mutations) {
    const i = Math.floor(at * bytes.length);
    const tail = bytes.subarray(Math.min(bytes.length, i + size));
    if (kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, i), piece, bytes.subarray(i)]);
    if (kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, i), tail]);
    if (kind === 'replace') bytes = Buffer.concat([bytes.subarray(0, i), piece, tail]);
    if (kind === 'duplicate') bytes = Buffer.concat([bytes.subarray(0, i + size), bytes.subarray(i)]);
    if (kind === 'truncate') bytes = bytes.subarray(0, i);
  }
  return bytes;
}

const mutated = (source: fc.Arbitrary<Buffer>) =>
  fc
    .tuple(source, fc.array(mutation, { maxLength: 4 }))
    .map(([bytes, mutations]) => mutate(bytes, mutations));

// ---- Referee: what the body must give, judged with JSON.parse. --------------------------------------

/** Nesting depth of a parsed value, iteratively (deep input must not overflow the referee either). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** The refusals one event can earn. */
function eventProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (value === null) problems.push('null_event');
  if (depthOf(value) > MAX_EVENT_DEPTH) problems.push('json_too_deep');
  return problems;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Checks an answer to a JSON or NDJSON body against JSON.parse of the same bytes. */
function judgeJsonBody(format: 'json' | 'ndjson', body: Buffer, outcome: Outcome): void {
  expectNoFaultNoPartialPublish(outcome);
  if (body.length > SETTINGS.maxRequestBytes) return expectRefused(outcome, ['request_too_large']);
  if (body.length === 0) return expectRefused(outcome, ['empty_body']);
  if (!isUtf8(body)) return expectRefused(outcome, ['invalid_utf8']);
  const text = body.toString('utf8');
  if (text.trim() === '') return expectRefused(outcome, ['empty_body']);

  const syntax = format === 'json' ? 'invalid_json' : 'invalid_ndjson';
  const lines =
    format === 'json'
      ? [text]
      : text
          .split('\n')
          .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
          .filter((line) => line.trim() !== '');
  // The app stops at the first problem in reading order; the referee allows any problem found up to
  // the first line JSON.parse refuses (the scan may stop at a limit before reaching a syntax error).
  const problems = new Set<string>();
  const events: unknown[] = [];
  for (const line of lines) {
    const parsed = tryParse(line);
    if (!parsed.ok) return expectRefused(outcome, [...problems, syntax, 'json_too_deep', 'too_many_events']);
    const isEnvelope = format === 'json' && Array.isArray(parsed.value);
    const values = isEnvelope ? (parsed.value as unknown[]) : [parsed.value];
    if (isEnvelope && values.length === 0) problems.add('empty_array');
    values.forEach((value) => eventProblems(value).forEach((problem) => problems.add(problem)));
    events.push(...values);
    if (events.length > SETTINGS.maxEventsPerRequest) problems.add('too_many_events');
  }
  if (outcome.code === syntax) throw new Error(`JSON.parse accepts what the app called ${syntax}`);
  if (problems.size > 0) return expectRefused(outcome, [...problems]);
  if (outcome.status !== 202)
    throw new Error(`expected 202, got ${outcome.status} ${JSON.stringify(outcome.body)}`);
  const sent = texts(outcome.producer);
  if (
    sent.length !== events.length ||
    !sent.every((source, i) => isDeepStrictEqual(JSON.parse(source), events[i]))
  ) {
    throw new Error(`published ${JSON.stringify(sent)}, expected ${JSON.stringify(events)}`);
  }
}

// ---- Generators of plausible input, which the mutations then damage. --------------------------------

const jsonEvent = fc.jsonValue({ maxDepth: 4 });
const jsonBody = fc.oneof(
  fc.array(jsonEvent, { maxLength: 60 }).map((events) => Buffer.from(JSON.stringify(events))),
  jsonEvent.map((event) => Buffer.from(JSON.stringify(event))),
  fc.json().map((text) => Buffer.from(text)),
);
const ndjsonBody = fc
  .array(fc.tuple(jsonEvent, fc.constantFrom('\n', '\r\n', '\n\n', '\n \n')), { maxLength: 60 })
  .map((lines) => Buffer.from(lines.map(([event, end]) => JSON.stringify(event) + end).join('')));

describe('POST /api/events properties', () => {
  test('mutated JSON bodies: never a 5xx, nothing sent on a 4xx, JSON.parse agrees on every answer', async () => {
    await check('json', mutated(jsonBody), async (body) => {
      judgeJsonBody('json', body, await send({ contentType: 'application/json', body }));
    });
  });

  test('mutated NDJSON bodies: never a 5xx, nothing sent on a 4xx, JSON.parse agrees on every line', async () => {
    await check('ndjson', mutated(ndjsonBody), async (body) => {
      judgeJsonBody('ndjson', body, await send({ contentType: 'application/x-ndjson', body }));
    });
  });

  test('text and bytes: published exactly as sent, or refused as empty or not UTF-8', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map(Buffer.from),
      fc.string().map((text) => Buffer.from(text)),
    );
    await check('text/bytes', fc.tuple(fc.boolean(), mutated(bytes)), async ([asText, body]) => {
      const outcome = await send({ contentType: asText ? 'text/plain' : 'application/octet-stream', body });
      expectNoFaultNoPartialPublish(outcome);
      if (body.length === 0) return expectRefused(outcome, ['empty_body']);
      if (asText && !isUtf8(body)) return expectRefused(outcome, ['invalid_utf8']);
      if (outcome.status !== 202 || !(outcome.producer.sentEvents[0].body as Buffer).equals(body)) {
        throw new Error(`expected the body published as is, got ${outcome.status}`);
      }
    });
  });

  test('random Content-Type headers: 415 unless a supported type (and UTF-8 for the text types)', async () => {
    const mediaType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'APPLICATION/JSON',
        'application/x-ndjson',
        'text/plain',
        'application/octet-stream',
      ),
      fc.stringMatching(/^[ -~]{0,30}$/),
    );
    const parameter = fc.oneof(
      fc.constantFrom('charset=utf-8', 'charset=UTF8', 'charset="utf-8"', 'charset=latin1', 'boundary=x'),
      fc.stringMatching(/^[ -~]{0,20}$/),
    );
    const header = fc
      .tuple(mediaType, fc.array(parameter, { maxLength: 2 }))
      .map(([type, parameters]) => [type, ...parameters].join(';'));
    await check('content-type', header, async (contentType) => {
      const outcome = await send({ contentType, body: Buffer.from('{"a":1}') });
      expectNoFaultNoPartialPublish(outcome);
      if (outcome.status !== 202) expectRefused(outcome, ['unsupported_media_type']);
    });
  });

  test('random and mutated x-event-properties: published exactly, or 400 invalid_event_properties', async () => {
    const key = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('', '__proto__', 'constructor', 'x-opt-offset', 'Source'),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(2 ** 53, 2 ** 53 - 1, -(2 ** 53), 2 ** 63, 1e300, 0.1, -0),
      fc.constant(null),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const objectText = fc.dictionary(key, value, { maxKeys: 5 }).map((object) => JSON.stringify(object));
    const bigNumbers = fc
      .tuple(key, fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }))
      .map(([name, n]) => `{${JSON.stringify(name)}:${n}}`);
    const header = mutated(fc.oneof(objectText, bigNumbers).map((text) => Buffer.from(text)))
      .map((bytes) => bytes.toString('latin1'))
      // Kestrel refuses header values with control characters; the library's Headers would throw on them.
      .filter((text) => /^[\t\x20-\x7e]*$/.test(text));
    await check('x-event-properties', header, async (properties) => {
      const outcome = await send({
        contentType: 'application/json',
        headers: { 'x-event-properties': properties },
        body: '[1,2]',
      });
      expectNoFaultNoPartialPublish(outcome);
      // The referee reads the header as the app does, after the Headers class trimmed it.
      const parsed = tryParse(properties.trim());
      const valid =
        parsed.ok &&
        typeof parsed.value === 'object' &&
        parsed.value !== null &&
        !Array.isArray(parsed.value) &&
        Object.entries(parsed.value).every(
          ([name, item]) =>
            name !== '' &&
            (typeof item === 'string' ||
              typeof item === 'boolean' ||
              (typeof item === 'number' &&
                Number.isFinite(item) &&
                (!Number.isInteger(item) || Number.isSafeInteger(item)))),
        );
      if (!valid) return expectRefused(outcome, ['invalid_event_properties']);
      if (outcome.status !== 202) throw new Error(`expected 202, got ${JSON.stringify(outcome.body)}`);
      // Every event also carries the request's trace context, which wins over a property of that name.
      const traceparent = (outcome.body as { traceparent: string }).traceparent;
      const expected = { ...(parsed.value as object), traceparent, 'Diagnostic-Id': traceparent };
      for (const event of outcome.producer.sentEvents) {
        if (!isDeepStrictEqual({ ...event.properties }, expected)) {
          throw new Error(`published properties ${JSON.stringify(event.properties)}, sent ${properties}`);
        }
      }
    });
  });

  test('random queries: routing as given, or a 400 that sends nothing', async () => {
    const name = fc.constantFrom('partitionKey', 'partitionId', 'code', 'PartitionKey', 'other');
    const rawValue = fc.oneof(
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
      fc.constantFrom('', '0', '3', '7', '%', '%zz', '%ff', '%00', '+', 'a%2Cb', '..'),
    );
    const query = fc
      .array(fc.tuple(name, rawValue), { maxLength: 4 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
    await check('query', query, async (search) => {
      const outcome = await send({ contentType: 'application/json', query: search, body: '[1]' });
      expectNoFaultNoPartialPublish(outcome);
      const params = new URL(`http://x/?${search}`).searchParams;
      const keys = params.getAll('partitionKey');
      const ids = params.getAll('partitionId');
      if (keys.length + ids.length > 1 || keys.includes('') || ids.includes('')) {
        return expectRefused(outcome, ['invalid_routing', 'conflicting_routing']);
      }
      if (ids.length === 1 && !PARTITIONS.includes(ids[0]))
        return expectRefused(outcome, ['unknown_partition_id']);
      const [batch] = outcome.producer.sent;
      if (outcome.status !== 202 || batch.partitionKey !== keys[0] || batch.partitionId !== ids[0]) {
        throw new Error(`routing not as asked: ${JSON.stringify(batch)} for ${search}`);
      }
    });
  });

  test('random methods: only POST publishes; the others get 405 and nothing is sent', async () => {
    const method = fc.oneof(
      fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'POST', 'post'),
      fc.stringMatching(/^[A-Z]{1,10}$/),
    );
    await check(
      'method',
      method.filter((m) => !['TRACE', 'CONNECT', 'TRACK'].includes(m.toUpperCase())),
      async (verb) => {
        const body = ['GET', 'HEAD'].includes(verb.toUpperCase()) ? undefined : '[1]';
        const outcome = await send({ method: verb, contentType: 'application/json', body });
        expectNoFaultNoPartialPublish(outcome);
        if (verb.toUpperCase() === 'POST') {
          if (outcome.status !== 202) throw new Error(`POST got ${outcome.status}`);
        } else if (outcome.status !== 405) throw new Error(`${verb} got ${outcome.status}`);
      },
    );
  });

  test('Event Hubs faults mid-request: the counts in the answer match what Event Hubs stored', async () => {
    const codes = [
      'ServerBusyError',
      'ConnectionLostError',
      'OperationTimeoutError',
      'UnauthorizedError',
      'MessageTooLargeError',
      'ECONNRESET',
    ];
    const fault = fc.record({
      call: fc.integer({ min: 0, max: 6 }),
      kind: fc.oneof(
        { arbitrary: fc.constant('hang'), weight: 1 },
        { arbitrary: fc.constantFrom(...codes), weight: 6 },
      ),
    });
    const events = fc.array(
      fc.string({ minLength: 1, maxLength: 60 }).map((text) => JSON.stringify(text)),
      { minLength: 1, maxLength: 40 },
    );
    await check('faults', fc.tuple(events, fault), async ([sources, { call, kind }]) => {
      const producer = new InMemoryProducer(PARTITIONS, 400);
      if (kind === 'hang') producer.hangOnSendCall = call;
      else producer.sendFailures.set(call, Object.assign(new MessagingError(kind), { code: kind }));
      const outcome = await send(
        { contentType: 'application/json', body: `[${sources.join(',')}]` },
        producer,
        { ...SETTINGS, publishTimeoutMs: HANG_TIMEOUT_MS },
      );
      const stored = texts(producer);
      if (!isDeepStrictEqual(stored, sources.slice(0, stored.length)))
        throw new Error('events stored out of order');
      if (outcome.status === 202) {
        if (stored.length !== sources.length)
          throw new Error(`202 with ${stored.length} of ${sources.length} stored`);
        return;
      }
      const error = outcome.body.error as {
        eventsAccepted: number;
        eventsUnconfirmed: number;
        retryFromIndex: number;
      };
      if (error.eventsAccepted !== stored.length || error.retryFromIndex !== stored.length) {
        throw new Error(`answer says ${error.eventsAccepted} accepted, Event Hubs stored ${stored.length}`);
      }
      const inFlight =
        kind === 'hang' || ['ConnectionLostError', 'OperationTimeoutError', 'ECONNRESET'].includes(kind);
      // A stalled machine can spend the short deadline before a send: that send is then refused unsent.
      const stalled = kind !== 'hang' && outcome.code === 'event_hubs_timeout';
      if (
        (!stalled && inFlight !== error.eventsUnconfirmed > 0) ||
        error.eventsAccepted + error.eventsUnconfirmed > sources.length
      ) {
        throw new Error(`${kind}: ${error.eventsUnconfirmed} unconfirmed`);
      }
    });
  });
});
