// The host's output as the explorer reads it: only the consumer's `<Kind> <JSON object>` lines, in
// the host's `[<time>] ` shape, each once, numbered; the lines of src/lib/consume/eventLog.ts parse back.
import { batchProcessedLine, eventFailedLine } from '../../../src/lib/consume/eventLog';
import { LogFeed, parseConsumerLine } from '../../../local/explorer/logFeed';
import { Metrics } from '../../../local/explorer/metrics';
import type { PartitionView } from '../../../local/explorer/api';

const EVENT = {
  rawBody: Buffer.from('{"id":7}'),
  contentType: 'application/json',
  partitionId: '2',
  sequenceNumber: 0,
  offset: '0',
  enqueuedTimeUtc: '2026-01-01T00:00:00.000Z',
  partitionKey: null,
  properties: { poison: true },
};
const at = (message: string) => `[2026-01-01T00:00:01.000Z] ${message}`;

describe('the explorer log feed', () => {
  test("parses the app's own lines as the host prints them", () => {
    const failed = eventFailedLine(
      EVENT,
      Date.parse('2026-01-01T00:00:01Z'),
      100,
      'boom',
      'dead-letter-events/e/p/2/0.json',
    );
    expect(parseConsumerLine(at(failed))).toEqual({
      time: '2026-01-01T00:00:01.000Z',
      kind: 'EventFailed',
      fields: expect.objectContaining({
        partitionId: '2',
        sequenceNumber: 0,
        error: 'boom',
        deadLetterBlob: 'dead-letter-events/e/p/2/0.json',
      }),
    });
    const batch = batchProcessedLine({
      partitionId: '2',
      count: 1,
      failed: 1,
      firstSequenceNumber: 0,
      lastSequenceNumber: 0,
      maxLagMs: 3,
    });
    expect(parseConsumerLine(at(batch))?.kind).toBe('BatchProcessed');
  });

  test.each([
    "Executing 'Functions.processEvents' (Reason='New events', Id=1)",
    'Host started (http://127.0.0.1:7071)',
    'EventProcessed not-json',
    'EventProcessed [1,2]',
    'lowercase {"a":1}',
  ])('ignores other host lines: %s', (message) => {
    expect(parseConsumerLine(at(message))).toBeUndefined();
  });

  test('ignores a line without the host timestamp', () => {
    expect(parseConsumerLine('EventProcessed {"a":1}')).toBeUndefined();
  });

  test('keeps the newest entries, numbered, and tells subscribers', () => {
    const feed = new LogFeed(3);
    const seen: number[] = [];
    feed.subscribe((entry) => seen.push(entry.id));
    for (let n = 0; n < 5; n++) feed.push(at(`BatchProcessed {"n":${n}}`));
    feed.push(at('Host started'));
    expect(feed.since().map((entry) => entry.fields.n)).toEqual([2, 3, 4]);
    expect(feed.since(4).map((entry) => entry.id)).toEqual([5]);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('the explorer chart figures', () => {
  const partition = (id: string, last: number): PartitionView => ({
    partitionId: id,
    beginningSequenceNumber: 0,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedOffset: '0',
    lastEnqueuedOnUtc: null,
    isEmpty: last < 0,
    retainedEvents: last + 1,
  });

  test('in is the sequence numbers enqueued per second, processed the consumer lines per second', () => {
    const metrics = new Metrics();
    const start = Date.parse('2026-01-01T00:00:00Z');
    metrics.sample([partition('0', -1), partition('1', 9)], new Date(start));
    for (let n = 0; n < 4; n++)
      metrics.countLogEntry({
        id: n,
        time: '',
        kind: n === 3 ? 'EventFailed' : 'EventProcessed',
        fields: { partitionId: '0' },
      });
    metrics.countLogEntry({
      id: 9,
      time: '',
      kind: 'BatchProcessed',
      fields: { partitionId: '0', count: 4 },
    });
    const sample = metrics.sample([partition('0', 5), partition('1', 9)], new Date(start + 2000));
    expect(sample.partitions).toEqual({ '0': { in: 3, processed: 2 }, '1': { in: 0, processed: 0 } });
    expect(metrics.history()).toHaveLength(2);
  });
});
