import { BodyDecodeError, decodeBody, decodeEvent } from '../../src/lib/consume/bodyDecoding';
import { readTriggerBatch, type ReceivedEvent } from '../../src/lib/consume/triggerEvents';
import { toOffset, toSequenceNumber, toUtcIso } from '../../src/lib/consume/triggerValues';

/** The handler's view of each event, without the raw bytes (checked separately). */
const decoded = (events: ReceivedEvent[]) =>
  events.map((event) => {
    const { rawBody, ...rest } = decodeEvent(event);
    void rawBody;
    return rest;
  });

const partitionContext = {
  fullyQualifiedNamespace: 'ns.servicebus.windows.net',
  eventHubName: 'events',
  consumerGroup: 'processor',
  partitionId: '3',
  isCheckpointingAfterInvocation: true,
};

describe('readTriggerBatch', () => {
  test('pairs bodies with their metadata as the host sends it', () => {
    const batch = readTriggerBatch([{ id: 1 }, 'plain text', 42], {
      partitionContext,
      sequenceNumberArray: [10, 11, 12],
      offsetArray: [4294967296, '4294967400', 4294967500],
      partitionKeyArray: ['device-1', null, 'device-1'],
      enqueuedTimeUtcArray: [
        '2024-05-06T07:08:09.123Z',
        '2024-05-06T07:08:10',
        '2024-05-06T07:08:11.1234567',
      ],
      propertiesArray: [{ source: 'a' }, {}, { poison: true }],
      systemPropertiesArray: [{}, {}, {}],
    });
    expect(batch).toMatchObject({
      eventHubName: 'events',
      consumerGroup: 'processor',
      partitionId: '3',
      aligned: true,
      metadataCount: 3,
      firstSequenceNumber: 10,
      lastSequenceNumber: 12,
    });
    expect(decoded(batch.events)).toEqual([
      {
        body: { id: 1 },
        partitionId: '3',
        sequenceNumber: 10,
        offset: '4294967296',
        enqueuedTimeUtc: '2024-05-06T07:08:09.123Z',
        partitionKey: 'device-1',
        properties: { source: 'a' },
        contentType: null,
      },
      {
        body: 'plain text',
        partitionId: '3',
        sequenceNumber: 11,
        offset: '4294967400',
        enqueuedTimeUtc: '2024-05-06T07:08:10.000Z',
        partitionKey: null,
        properties: {},
        contentType: null,
      },
      {
        body: 42,
        partitionId: '3',
        sequenceNumber: 12,
        offset: '4294967500',
        enqueuedTimeUtc: '2024-05-06T07:08:11.123Z',
        partitionKey: 'device-1',
        properties: { poison: true },
        contentType: null,
      },
    ]);
    expect(batch.events.map((event) => event.rawBody.toString())).toEqual(['{"id":1}', 'plain text', '42']);
  });

  test('accepts Buffers (dataType binary) and long objects for sequence numbers', () => {
    const body = Buffer.from([0xff, 2, 3]);
    const batch = readTriggerBatch([body], {
      partitionContext,
      sequenceNumberArray: [{ low: 5, high: 1, unsigned: false }],
      offsetArray: ['abc:1'],
      enqueuedTimeUtcArray: ['2024-05-06T07:08:09+02:00'],
    });
    expect(decodeEvent(batch.events[0])).toMatchObject({
      body,
      rawBody: body,
      sequenceNumber: 4294967301,
      offset: 'abc:1',
      enqueuedTimeUtc: '2024-05-06T05:08:09.000Z',
    });
  });

  test('falls back to systemPropertiesArray when a per-field array is missing', () => {
    const batch = readTriggerBatch(['x'], {
      partitionContext,
      systemPropertiesArray: [
        { sequenceNumber: '77', offset: 1234, partitionKey: 'k', enqueuedTimeUtc: '2024-01-01T00:00:00' },
      ],
    });
    expect(batch.events[0]).toMatchObject({
      sequenceNumber: 77,
      offset: '1234',
      partitionKey: 'k',
      enqueuedTimeUtc: '2024-01-01T00:00:00.000Z',
    });
  });

  test('does not pair bodies with metadata when the host dropped empty events', () => {
    const batch = readTriggerBatch(['a', 'c'], {
      partitionContext,
      sequenceNumberArray: [20, 21, 22],
      offsetArray: ['1', '2', '3'],
      enqueuedTimeUtcArray: ['2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z', '2024-01-01T00:00:02Z'],
      partitionKeyArray: [null, null, null],
      propertiesArray: [{}, {}, {}],
    });
    expect(batch).toMatchObject({
      aligned: false,
      metadataCount: 3,
      firstSequenceNumber: 20,
      lastSequenceNumber: 22,
    });
    expect(
      decoded(batch.events).map((event) => [
        event.body,
        event.partitionId,
        event.sequenceNumber,
        event.offset,
      ]),
    ).toEqual([
      ['a', '3', null, null],
      ['c', '3', null, null],
    ]);
  });

  test('keeps JSON-looking partition keys exact: system properties win over the parsed partitionKeyArray', () => {
    const batch = readTriggerBatch(['a', 'b', 'c'], {
      partitionContext,
      sequenceNumberArray: [1, 2, 3],
      // What the library makes of the host's ["true", "42", "null"]: each entry JSON-parsed.
      partitionKeyArray: [true, 42, null],
      systemPropertiesArray: [{ partitionKey: 'true' }, { partitionKey: '42' }, { partitionKey: 'null' }],
    });
    expect(batch.events.map((event) => event.partitionKey)).toEqual(['true', '42', 'null']);
  });

  test('falls back to the text of a parsed partitionKeyArray entry when system properties lack the key', () => {
    const batch = readTriggerBatch(['a'], {
      partitionContext,
      sequenceNumberArray: [1],
      partitionKeyArray: [true],
    });
    expect(batch.events[0].partitionKey).toBe('true');
  });

  test('tolerates missing metadata and a single (non-array) message', () => {
    const batch = readTriggerBatch('only', undefined);
    expect(batch).toMatchObject({
      partitionId: null,
      aligned: true,
      firstSequenceNumber: null,
      lastSequenceNumber: null,
    });
    expect(decoded(batch.events)).toEqual([
      {
        body: 'only',
        partitionId: null,
        sequenceNumber: null,
        offset: null,
        enqueuedTimeUtc: null,
        partitionKey: null,
        properties: {},
        contentType: null,
      },
    ]);
  });
});

describe('dataType binary: what extension 6.x and the host send', () => {
  const offsetStrings = ['4294967296', 'A:1:2', '12345678901234567890'];
  const metadata = {
    partitionContext,
    triggerPartitionContext: partitionContext,
    sequenceNumberArray: [7, 8, 9],
    // long.TryParse(OffsetString), or -1; the library JSON-parses these string entries.
    offsetArray: [4294967296, -1, -1],
    offsetStringArray: [4294967296, 'A:1:2', 12345678901234567000],
    enqueuedTimeUtcArray: ['2024-05-06T07:08:09.12', '2024-05-06T07:08:10', '2024-05-06T07:08:11.1'],
    propertiesArray: [{}, {}, {}],
    systemPropertiesArray: offsetStrings.map((offsetString, i) => ({
      'content-type': ['application/json', 'text/plain', 'application/octet-stream'][i],
      'x-opt-offset': offsetString,
      offset: -1,
      offsetString,
      partitionKey: null,
    })),
  };

  test('bodies are decoded by their content type; offsets come from OffsetString, exact', () => {
    const bodies = [Buffer.from('{"n": 9007199254740993}'), Buffer.from('héllo'), Buffer.from([0xff, 0x00])];
    const batch = readTriggerBatch(bodies, metadata);
    expect(batch.events.map((event) => [event.offset, event.contentType])).toEqual([
      ['4294967296', 'application/json'],
      ['A:1:2', 'text/plain'],
      ['12345678901234567890', 'application/octet-stream'],
    ]);
    expect(batch.events.map((event) => decodeEvent(event).body)).toEqual([
      { n: 9007199254740992 },
      'héllo',
      Buffer.from([0xff, 0x00]),
    ]);
    expect(batch.events.map((event) => event.rawBody)).toEqual(bodies);
  });

  test('empty bodies stay in the batch (collection_bytes drops only nulls): arrays stay aligned', () => {
    const batch = readTriggerBatch([Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(0)], metadata);
    expect(batch.aligned).toBe(true);
    expect(batch.events.map((event) => event.sequenceNumber)).toEqual([7, 8, 9]);
  });
});

describe('decodeBody', () => {
  test.each([
    ['application/json', '[1, "a", {"b": null}]', [1, 'a', { b: null }]],
    ['application/json; charset=utf-8', '"text"', 'text'],
    ['application/cloudevents+json', '{"id":"1"}', { id: '1' }],
    ['text/plain', '{"not":"parsed"}', '{"not":"parsed"}'],
    ['text/plain; charset=UTF-8', 'wörld', 'wörld'],
    ['text/csv', 'a,b', 'a,b'],
    [null, '{"sniffed":true}', { sniffed: true }],
    [null, 'not json', 'not json'],
    [null, '', ''],
  ])('%s %p -> %p', (contentType, text, expected) => {
    expect(decodeBody(Buffer.from(text), contentType)).toEqual(expected);
  });

  test.each([
    ['application/octet-stream', Buffer.from('{"a":1}')],
    ['image/png', Buffer.from([0x89, 0x50])],
    ['text/plain; charset=iso-8859-1', Buffer.from([0xe9])],
    [null, Buffer.from([0xc3, 0x28])],
  ])('%s stays bytes', (contentType, bytes) => {
    expect(decodeBody(bytes, contentType)).toEqual(bytes);
  });

  test.each([
    ['application/json', Buffer.from('{"a":'), /declared application\/json but is not valid JSON/],
    ['application/json', Buffer.from([0x22, 0xff, 0x22]), /not valid UTF-8/],
    ['text/plain', Buffer.from([0x68, 0xff]), /declared text\/plain but is not valid UTF-8/],
  ])('a %s body that contradicts its content type is a BodyDecodeError', (contentType, bytes, message) => {
    expect(() => decodeBody(bytes, contentType)).toThrow(BodyDecodeError);
    expect(() => decodeBody(bytes, contentType)).toThrow(message);
  });

  test('a 100k-deep JSON array decodes', () => {
    const depth = 100_000;
    expect(
      Array.isArray(decodeBody(Buffer.from('['.repeat(depth) + ']'.repeat(depth)), 'application/json')),
    ).toBe(true);
  });
});

describe('value normalisation', () => {
  test.each([
    [7, 7],
    ['7', 7],
    [BigInt(9), 9],
    [{ low: -1, high: 0 }, 4294967295],
    [{ low: 0, high: 2 }, 8589934592],
    [{ low: 1, high: -1, unsigned: true }, 18446744069414584000],
    [1.5, null],
    ['x', null],
    [null, null],
    [undefined, null],
  ])('sequence number %p -> %p', (input, expected) => {
    expect(toSequenceNumber(input)).toBe(expected);
  });

  test.each([
    ['123', '123'],
    [123, '123'],
    [{ low: 1, high: 1 }, '4294967297'],
    ['', null],
    [undefined, null],
  ])('offset %p -> %p', (input, expected) => {
    expect(toOffset(input)).toBe(expected);
  });

  test.each([
    ['2024-05-06T07:08:09Z', '2024-05-06T07:08:09.000Z'],
    ['2024-05-06T07:08:09', '2024-05-06T07:08:09.000Z'],
    ['2024-05-06T07:08:09.1234567', '2024-05-06T07:08:09.123Z'],
    ['2024-05-06T09:08:09+02:00', '2024-05-06T07:08:09.000Z'],
    ['2024-05-06T02:08:09-0500', '2024-05-06T07:08:09.000Z'],
    [1714979289000, '2024-05-06T07:08:09.000Z'],
    [new Date('2024-05-06T07:08:09Z'), '2024-05-06T07:08:09.000Z'],
    ['not a time', null],
    ['', null],
    [null, null],
  ])('enqueued time %p -> %p', (input, expected) => {
    expect(toUtcIso(input)).toBe(expected);
  });
});
