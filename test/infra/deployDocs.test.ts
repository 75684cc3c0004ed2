// docs/deploy.md's KQL against the lines the consumer really writes: every field a query reads must
// exist in the JSON of the kind it filters on, and the JSON must start where the query cuts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  batchFailedLine,
  batchProcessedLine,
  consumerLagLine,
  eventFailedLine,
  eventProcessedLine,
} from '../../src/lib/consume/eventLog';
import type { ConsumedEvent } from '../../src/lib/consume/triggerEvents';
import { repoRoot } from './support/bicep';

const docs = readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');
/** Each KQL block with the heading it sits under, for readable test names. */
const queries = [...docs.matchAll(/```kusto\n([\s\S]*?)```/g)].map((match) => {
  const headings = docs.slice(0, match.index).match(/^#+ .*$/gm) ?? ['(top)'];
  return { heading: headings[headings.length - 1].replace(/^#+ /, ''), text: match[1] };
});

const event: ConsumedEvent = {
  body: { orderId: 1 },
  rawBody: Buffer.from('{"orderId":1}'),
  contentType: 'application/json',
  partitionId: '0',
  sequenceNumber: 42,
  offset: '4096',
  enqueuedTimeUtc: '2026-01-01T00:00:00.000Z',
  partitionKey: 'customer-7',
  properties: { source: 'test' },
};
const now = Date.parse('2026-01-01T00:00:01.000Z');

/** A real line of each kind, from the app's own formatting functions. */
const lines: Record<string, string> = {
  EventProcessed: eventProcessedLine(event, now, 1024),
  EventFailed: eventFailedLine(event, now, 1024, 'boom', 'dead-letter-events/events/processor/0/42.json'),
  BatchProcessed: batchProcessedLine({
    partitionId: '0',
    count: 1,
    failed: 0,
    firstSequenceNumber: 42,
    lastSequenceNumber: 42,
    maxLagMs: 1000,
  }),
  BatchFailed: batchFailedLine({
    partitionId: '0',
    count: 1,
    firstSequenceNumber: 42,
    lastSequenceNumber: 42,
    retryCount: 8,
    maxRetryCount: 8,
    error: 'RetryBatchError: database unavailable',
  }),
  ConsumerLag: consumerLagLine({
    partitionId: '0',
    lagEvents: 3,
    lagSeconds: 1.5,
    checkpointSequenceNumber: 39,
    lastEnqueuedSequenceNumber: 42,
  }),
};

/** What KQL's `substring(message, strlen("<Kind> "))` yields, parsed as parse_json would. */
function payload(kind: string): Record<string, unknown> {
  const line = lines[kind];
  expect(line.startsWith(`${kind} `)).toBe(true);
  return JSON.parse(line.slice(`${kind} `.length));
}

describe('docs/deploy.md queries', () => {
  test('has a query for each kind of consumer line', () => {
    for (const kind of ['EventProcessed', 'EventFailed', 'BatchProcessed', 'BatchFailed']) {
      expect(queries.some((query) => query.text.includes(`startswith "${kind} "`))).toBe(true);
    }
  });

  test.each(queries.map((query, index) => [index + 1, query.heading, query.text]))(
    'query %i (under "%s") reads only fields the lines it filters on carry',
    (_index, _heading, query) => {
      const kinds = [...query.matchAll(/startswith "(\w+) "/g)].map((match) => match[1]);
      for (const kind of kinds) expect(Object.keys(lines)).toContain(kind);

      for (const [, variable, cutKind] of query.matchAll(
        /extend (\w+) = parse_json\(substring\(message, strlen\((?:"(\w+) "|lineKind\) \+ 1)\)\)/g,
      )) {
        // A fixed cut must match the kind the query filters on; a computed one covers every filtered kind.
        const readKinds = cutKind === undefined ? kinds : [cutKind];
        if (cutKind !== undefined) expect(kinds).toContain(cutKind);
        const fields = [
          ...query.matchAll(new RegExp(`\\b${variable}\\.(\\w+)|\\b${variable}\\["(\\w+)"\\]`, 'g')),
        ].map((match) => match[1] ?? match[2]);
        expect(fields.length).toBeGreaterThan(0);
        for (const kind of readKinds) {
          const available = Object.keys(payload(kind));
          for (const field of fields)
            expect([kind, field, available.includes(field)]).toEqual([kind, field, true]);
        }
      }
    },
  );

  test('uses the settings, resource and container names the template deploys', () => {
    expect(docs).toContain('dead-letter-events');
    expect(docs).toContain('npm run deploy -- evdemo swedencentral');
    expect(docs).toContain('bash scripts/teardown.sh evdemo');
    for (const setting of [
      'EventHubConnection__fullyQualifiedNamespace',
      'AzureWebJobsStorage__accountName',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    ]) {
      expect(docs).toContain(setting);
    }
  });
});
