import { deadLetterBlobName, deadLetterDocument, type DeadLetter } from '../../src/lib/consume/deadLetter';
import { bodyForLog, eventProcessedLine } from '../../src/lib/consume/eventLog';
import { describeError, redactSecrets } from '../../src/lib/redact';
import type { ReceivedEvent } from '../../src/lib/consume/triggerEvents';

const EVENT: ReceivedEvent = {
  rawBody: Buffer.from('{"text": "line one\\nline two",\n "n": 12345678901234567890}'),
  delivered: undefined,
  contentType: 'application/json',
  partitionId: '0',
  sequenceNumber: 42,
  offset: '4200',
  enqueuedTimeUtc: '2024-01-01T00:00:00.000Z',
  partitionKey: null,
  properties: { 'x-source': 'test' },
};

describe('event log lines', () => {
  test('are a single line even when the body has newlines', () => {
    const line = eventProcessedLine(EVENT, Date.parse('2024-01-01T00:00:01.500Z'), 100);
    expect(line).not.toContain('\n');
    expect(line.startsWith('EventProcessed {')).toBe(true);
    expect(JSON.parse(line.slice('EventProcessed '.length))).toMatchObject({
      lagMs: 1500,
      bodyTruncated: false,
    });
  });

  test('a clock behind the enqueued time gives lag 0, not a negative lag', () => {
    const line = eventProcessedLine(EVENT, Date.parse('2023-12-31T23:59:59Z'), 100);
    expect(JSON.parse(line.slice('EventProcessed '.length)).lagMs).toBe(0);
  });

  test('log the body exactly as sent: JSON source text with its whitespace and digits', () => {
    const line = eventProcessedLine(EVENT, Date.parse('2024-01-01T00:00:01.500Z'), 100);
    expect(JSON.parse(line.slice('EventProcessed '.length))).toMatchObject({
      contentType: 'application/json',
      body: '{"text": "line one\\nline two",\n "n": 12345678901234567890}',
      bodyEncoding: 'utf8',
    });
  });

  test.each([
    [Buffer.from('short'), 10, 'short', 'utf8', false],
    [Buffer.from('0123456789ABC'), 10, '0123456789', 'utf8', true],
    [Buffer.from('{"a":1}'), 10, '{"a":1}', 'utf8', false],
    [Buffer.from([0, 1, 2]), 10, '\u0000\u0001\u0002', 'utf8', false],
    [Buffer.from([0x62, 0xff, 0x74]), 10, 'Yv90', 'base64', false],
    [Buffer.from([0xff, ...Buffer.from('0123456789')]), 8, '/zAxMjM0', 'base64', true],
    [Buffer.from(`${'a'.repeat(9)}😀`), 10, 'a'.repeat(9), 'utf8', true],
    [Buffer.from(`${'é'.repeat(30)}`), 10, 'é'.repeat(10), 'utf8', true],
    [Buffer.alloc(0), 10, '', 'utf8', false],
  ])('body %p cut at %i -> %p (%s)', (rawBody, max, text, encoding, truncated) => {
    expect(bodyForLog(rawBody, max)).toEqual({
      body: text,
      bodyEncoding: encoding,
      bodyTruncated: truncated,
    });
  });

  test('a 100k-deep JSON body and properties too deep to serialise still give one line each', () => {
    const depth = 100_000;
    const deep = JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;
    const event: ReceivedEvent = {
      ...EVENT,
      rawBody: Buffer.from('['.repeat(depth) + ']'.repeat(depth)),
      properties: { nested: deep },
    };
    const fields = JSON.parse(eventProcessedLine(event, 0, 10).slice('EventProcessed '.length));
    expect(fields).toMatchObject({ body: '[[[[[[[[[[', bodyTruncated: true, properties: expect.any(String) });
    expect(fields.properties).toMatch(/^\[not serialisable: RangeError\]$/);
  });
});

describe('dead letters', () => {
  const letter: DeadLetter = {
    eventHubName: 'events',
    consumerGroup: 'processor',
    batchIndex: 3,
    batchFirstSequenceNumber: 40,
    batchLastSequenceNumber: 45,
    event: EVENT,
    error: 'boom',
    invocationId: 'inv-1',
    failedAtUtc: '2024-01-01T00:00:02.000Z',
  };

  test('are named <hub>/<consumer group>/<partition>/<sequence number>.json', () => {
    expect(deadLetterBlobName(letter)).toBe('events/processor/0/42.json');
  });

  test('without a known sequence number they are named after the batch range and index', () => {
    expect(deadLetterBlobName({ ...letter, event: { ...EVENT, sequenceNumber: null } })).toBe(
      'events/processor/0/batch-40-45-3.json',
    );
  });

  test('keep body, coordinates, properties, error and time', () => {
    expect(deadLetterDocument(letter)).toEqual({
      eventHubName: 'events',
      consumerGroup: 'processor',
      partitionId: '0',
      sequenceNumber: 42,
      offset: '4200',
      enqueuedTimeUtc: '2024-01-01T00:00:00.000Z',
      partitionKey: null,
      properties: { 'x-source': 'test' },
      contentType: 'application/json',
      bodyEncoding: 'utf8',
      body: '{"text": "line one\\nline two",\n "n": 12345678901234567890}',
      error: 'boom',
      failedAtUtc: '2024-01-01T00:00:02.000Z',
      invocationId: 'inv-1',
    });
  });

  test('keep binary bodies in base64', () => {
    const document = deadLetterDocument({ ...letter, event: { ...EVENT, rawBody: Buffer.from([0, 255]) } });
    expect(document).toMatchObject({ bodyEncoding: 'base64', body: 'AP8=' });
  });
});

describe('redaction', () => {
  test.each([
    [
      'Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=abc123=;EntityPath=e',
      'Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=<redacted>;EntityPath=e',
    ],
    ['AccountName=a;AccountKey=abc==;', 'AccountName=a;AccountKey=<redacted>;'],
    ['token SharedAccessSignature sr=x&sig=abc&se=1', 'token SharedAccessSignature <redacted>'],
    [
      'GET https://a.blob.core.windows.net/c?sv=1&sig=abc%3D&se=2',
      'GET https://a.blob.core.windows.net/c?sv=1&sig=<redacted>&se=2',
    ],
  ])('%s', (input, output) => {
    expect(redactSecrets(input)).toBe(output);
  });

  test('describeError gives name, code and message on one line', () => {
    const error = Object.assign(new Error('line 1\nline 2'), { code: 'ECONNREFUSED' });
    expect(describeError(error)).toBe('Error (ECONNREFUSED): line 1 line 2');
  });
});
