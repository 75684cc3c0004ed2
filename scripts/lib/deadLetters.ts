// Dead letters, for operators: list, show, replay, purge. One blob per failed event (written by
// src/lib/consume/deadLetter.ts, named `<hub>/<consumer group>/<partition>/<sequence number>.json`). Replay
// publishes each event's exact body, content type, application properties and partition key, plus
// `x-replay-of: <partition>/<sequence number>`, and deletes the blob only once Event Hubs acknowledged
// the send. While it works on a blob it holds a 60-second lease on it, so a second replay running at the
// same time skips that blob. A crash between the acknowledgement and the delete leaves the blob: the
// next replay publishes that one event a second time (at most one duplicate per blob).
import type { EventData, EventHubConsumerClient, EventHubProducerClient } from '@azure/event-hubs';
import type { ContainerClient } from '@azure/storage-blob';
import {
  deadLetterBody,
  deadLetterPrefix,
  parseDeadLetterDocument,
  type DeadLetterDocument,
} from '../../src/lib/consume/deadLetter';
import { readEventAt } from '../../src/lib/consume/eventHubReader';
import { republishedTraceProperties } from '../../src/lib/traceContext';

export const REPLAY_OF_PROPERTY = 'x-replay-of';
const LEASE_SECONDS = 60;
const DOWNLOAD_CONCURRENCY = 8;

export interface DeadLetterSummary {
  /** `<container>/<blob name>`, as EventFailed lines name it (deadLetterBlob). */
  blob: string;
  partitionId: string | null;
  sequenceNumber: number | null;
  enqueuedTimeUtc: string | null;
  failedAtUtc: string;
  error: string;
}

export interface DeadLetterFilter {
  partitionId?: string;
  /** Failed at or after. */
  since?: Date;
}

/** A blob argument as given: `<container>/<name>` (from a log line) or the name alone. */
export function blobName(container: ContainerClient, blob: string): string {
  const prefix = `${container.containerName}/`;
  return blob.startsWith(prefix) ? blob.slice(prefix.length) : blob;
}

export async function listDeadLetters(
  container: ContainerClient,
  scope: { eventHubName: string; consumerGroup: string },
  filter: DeadLetterFilter = {},
): Promise<DeadLetterSummary[]> {
  if (!(await container.exists())) return [];
  const prefix = deadLetterPrefix(scope.eventHubName, scope.consumerGroup);
  const names: string[] = [];
  const partitionPrefix = filter.partitionId === undefined ? prefix : `${prefix}${filter.partitionId}/`;
  for await (const blob of container.listBlobsFlat({ prefix: partitionPrefix })) names.push(blob.name);
  const documents = await mapLimited(names, DOWNLOAD_CONCURRENCY, (name) => readDeadLetter(container, name));
  return documents
    .flatMap((document, index) => (document === null ? [] : [summary(container, names[index], document)]))
    .filter(
      (letter) => filter.since === undefined || Date.parse(letter.failedAtUtc) >= filter.since.getTime(),
    )
    .sort(byCoordinates);
}

/** The stored document, or null when the blob is gone. */
export async function readDeadLetter(
  container: ContainerClient,
  name: string,
): Promise<DeadLetterDocument | null> {
  try {
    const content = await container.getBlobClient(name).downloadToBuffer();
    return parseDeadLetterDocument(content.toString('utf8'));
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return null;
    throw error;
  }
}

/** What replay publishes for a dead letter (or an event read back from the hub). */
export function replayEvent(
  original: Pick<DeadLetterDocument, 'partitionId' | 'sequenceNumber' | 'contentType' | 'properties'>,
  body: Buffer,
): EventData {
  return {
    body,
    ...(original.contentType !== null && { contentType: original.contentType }),
    properties: {
      ...republishedTraceProperties(original.properties),
      [REPLAY_OF_PROPERTY]: coordinatesOf(original),
    },
  };
}

export type ReplayOutcome =
  | { blob: string; status: 'replayed' | 'would replay'; replayOf: string; partitionKey: string | null }
  | { blob: string; status: 'skipped'; reason: string }
  | { blob: string; status: 'failed'; reason: string };

export async function replayDeadLetters(
  container: ContainerClient,
  producer: EventHubProducerClient,
  names: readonly string[],
  options: { dryRun?: boolean } = {},
): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  for (const name of names)
    outcomes.push(await replayOne(container, producer, name, options.dryRun === true));
  return outcomes;
}

async function replayOne(
  container: ContainerClient,
  producer: EventHubProducerClient,
  name: string,
  dryRun: boolean,
): Promise<ReplayOutcome> {
  const blob = `${container.containerName}/${name}`;
  const client = container.getBlobClient(name);
  if (dryRun) {
    const document = await readDeadLetter(container, name);
    if (document === null) return { blob, status: 'skipped', reason: 'no such dead letter' };
    return { blob, status: 'would replay', ...replayTarget(document) };
  }
  const lease = client.getBlobLeaseClient();
  try {
    await lease.acquireLease(LEASE_SECONDS);
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) return { blob, status: 'skipped', reason: 'no such dead letter (already replayed?)' };
    if (status === 409) return { blob, status: 'skipped', reason: 'another replay holds its lease' };
    throw error;
  }
  const conditions = { leaseId: lease.leaseId };
  let document: DeadLetterDocument;
  try {
    document = parseDeadLetterDocument(
      (await client.downloadToBuffer(undefined, undefined, { conditions })).toString('utf8'),
    );
    await producer.sendBatch([replayEvent(document, deadLetterBody(document))], partitionKeyOption(document));
  } catch (error) {
    await lease.releaseLease().catch(() => undefined);
    return { blob, status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
  // Acknowledged: from here on a crash can at most replay this event once more.
  await client.delete({ conditions });
  return { blob, status: 'replayed', ...replayTarget(document) };
}

function replayTarget(document: DeadLetterDocument) {
  return { replayOf: coordinatesOf(document), partitionKey: document.partitionKey };
}

/** `<partitionId>/<sequenceNumber>`; `unknown` where the host did not say (events it dropped from the metadata). */
function coordinatesOf(event: Pick<DeadLetterDocument, 'partitionId' | 'sequenceNumber'>): string {
  return `${event.partitionId ?? 'unknown'}/${event.sequenceNumber ?? 'unknown'}`;
}

function partitionKeyOption(document: Pick<DeadLetterDocument, 'partitionKey'>) {
  return document.partitionKey === null ? {} : { partitionKey: document.partitionKey };
}

/**
 * An event given up without a dead letter (EventFailed with deadLetterBlob null), read back from the
 * hub by its coordinates while retention keeps it and published again. Nothing records this: running
 * it twice publishes the event twice.
 */
export async function replayFromHub(
  reader: EventHubConsumerClient,
  producer: EventHubProducerClient,
  coordinates: string,
  options: { dryRun?: boolean } = {},
): Promise<ReplayOutcome> {
  const match = /^([^/]+)\/(\d+)$/.exec(coordinates);
  if (!match) throw new RangeError(`--from-hub takes <partitionId>/<sequenceNumber>, got "${coordinates}"`);
  const [, partitionId, sequence] = match;
  const event = await readEventAt(reader, partitionId, Number(sequence));
  if (event === null) {
    return {
      blob: `hub:${coordinates}`,
      status: 'failed',
      reason: `event ${coordinates} is not in the hub (beyond retention, or not yet written)`,
    };
  }
  const original = {
    partitionId,
    sequenceNumber: event.sequenceNumber,
    contentType: event.contentType ?? null,
    properties: event.properties ?? {},
    partitionKey: event.partitionKey ?? null,
  };
  const outcome = { blob: `hub:${coordinates}`, replayOf: coordinates, partitionKey: original.partitionKey };
  if (options.dryRun) return { ...outcome, status: 'would replay' };
  const body = Buffer.isBuffer(event.body) ? event.body : Buffer.from(JSON.stringify(event.body));
  await producer.sendBatch([replayEvent(original, body)], partitionKeyOption(original));
  return { ...outcome, status: 'replayed' };
}

export async function purgeDeadLetters(
  container: ContainerClient,
  names: readonly string[],
): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of names) {
    const response = await container.getBlobClient(name).deleteIfExists();
    if (response.succeeded) deleted.push(`${container.containerName}/${name}`);
  }
  return deleted;
}

function summary(container: ContainerClient, name: string, document: DeadLetterDocument): DeadLetterSummary {
  return {
    blob: `${container.containerName}/${name}`,
    partitionId: document.partitionId,
    sequenceNumber: document.sequenceNumber,
    enqueuedTimeUtc: document.enqueuedTimeUtc,
    failedAtUtc: document.failedAtUtc,
    error: document.error,
  };
}

/** Partition ids in numeric order where they are numbers, then sequence numbers. */
function byCoordinates(a: DeadLetterSummary, b: DeadLetterSummary): number {
  const partition = (a.partitionId ?? '').localeCompare(b.partitionId ?? '', 'en', { numeric: true });
  return partition !== 0 ? partition : (a.sequenceNumber ?? -1) - (b.sequenceNumber ?? -1);
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
