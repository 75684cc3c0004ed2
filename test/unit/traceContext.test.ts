// W3C trace context: parsing as the specification says, which context a request's events carry, and
// the trace id the consumer's lines read back (the host lower-cases the first letter of property names).
import fc from 'fast-check';
import {
  formatTraceparent,
  parseTraceparent,
  requestTraceContext,
  stampTraceContext,
  traceIdOf,
} from '../../src/lib/traceContext';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('parseTraceparent', () => {
  test.each([
    [CALLER, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: '01' }],
    // A later version: its first four fields are read, whatever follows.
    [
      `cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes-next`,
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: '00' },
    ],
  ])('%s is valid', (value, expected) => {
    expect(parseTraceparent(value)).toEqual(expected);
  });

  test.each([
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'version ff'],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'all-zero trace id'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 'all-zero parent id'],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', 'upper-case hex'],
    [`${CALLER}-extra`, 'version 00 with more fields'],
    ['00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', 'short trace id'],
    ['', 'empty'],
  ])('%s is refused (%s)', (value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  test('never throws, and what it accepts formats back to a valid version-00 value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f-]{50,60}$/)), (value) => {
        const parsed = parseTraceparent(value);
        if (parsed !== null) expect(parseTraceparent(formatTraceparent(parsed))).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });
});

describe('requestTraceContext', () => {
  const host = '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01';
  const otherHost = '00-0af7651916cd43dd8448eb211c80319c-b9c7c989f97918e1-01';

  test("the caller's traceparent goes on", () => {
    expect(formatTraceparent(requestTraceContext(CALLER))).toBe(CALLER);
  });

  test("the host's invocation span is the parent when the host continued the caller's trace", () => {
    expect(formatTraceparent(requestTraceContext(CALLER, host))).toBe(host);
    expect(formatTraceparent(requestTraceContext(CALLER, otherHost))).toBe(CALLER);
  });

  test("without a valid header: the invocation's trace, else a new sampled one per request", () => {
    expect(formatTraceparent(requestTraceContext('garbage', otherHost))).toBe(otherHost);
    const first = requestTraceContext(undefined);
    const second = requestTraceContext(null, null);
    expect(formatTraceparent(first)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(first.traceId).not.toBe(second.traceId);
  });

  test('new traces stay valid and distinct across refills of the random pool', () => {
    // 24 random bytes per trace: 1,000 traces draw several 4 KB pages.
    const traces = Array.from({ length: 1000 }, () => requestTraceContext(undefined));
    for (const trace of traces) expect(formatTraceparent(trace)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(new Set(traces.map((trace) => trace.traceId)).size).toBe(traces.length);
    expect(new Set(traces.map((trace) => trace.parentId)).size).toBe(traces.length);
  });
});

test('stampTraceContext sets traceparent and Diagnostic-Id on every event and keeps the other properties', () => {
  const events = [{ body: 1, properties: { source: 'a', traceparent: 'from the caller' } }, { body: 2 }];
  const traceparent = stampTraceContext(events, requestTraceContext(CALLER));
  expect(traceparent).toBe(CALLER);
  expect(events.map((event) => event.properties)).toEqual([
    { source: 'a', traceparent: CALLER, 'Diagnostic-Id': CALLER },
    { traceparent: CALLER, 'Diagnostic-Id': CALLER },
  ]);
});

test('traceIdOf reads traceparent, else Diagnostic-Id as the host hands it over (diagnostic-Id)', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  expect(traceIdOf({ traceparent: CALLER })).toBe(traceId);
  expect(traceIdOf({ 'diagnostic-Id': CALLER })).toBe(traceId);
  expect(traceIdOf({ traceparent: 'bad', 'Diagnostic-Id': CALLER })).toBe(traceId);
  expect(traceIdOf({})).toBeNull();
  expect(traceIdOf({ traceparent: 42 })).toBeNull();
});
