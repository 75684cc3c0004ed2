// The consumer's log lines, a contract with the Application Insights queries in infra/:
// `<Kind> <one-line JSON object>`, e.g.
//   traces | where message startswith "EventProcessed " | extend e = parse_json(substring(message, 15))
import type { ConsumedEvent } from './triggerEvents';

/** An event's fields as logged: its coordinates, the body as (possibly truncated) text, and the lag. */
export interface EventCoordinates extends Omit<ConsumedEvent, 'body'> {
  body: string;
  bodyTruncated: boolean;
  lagMs: number | null;
}

export interface BatchSummary {
  partitionId: string | null;
  count: number;
  failed: number;
  firstSequenceNumber: number | null;
  lastSequenceNumber: number | null;
  maxLagMs: number | null;
}

/** An invocation that failed as a whole; the host retries it, or after the last retry checkpoints past it. */
export interface BatchFailure {
  partitionId: string | null;
  count: number;
  firstSequenceNumber: number | null;
  lastSequenceNumber: number | null;
  retryCount: number | null;
  maxRetryCount: number | null;
  error: string;
}

/** A failed event that could not be dead-lettered; the invocation fails so that the batch is retried. */
export interface DeadLetterFailure {
  partitionId: string | null;
  sequenceNumber: number | null;
  offset: string | null;
  error: string;
  retryCount: number | null;
  maxRetryCount: number | null;
}

/** The host delivered a different number of events than its metadata describes (it drops empty ones). */
export interface BatchMisalignment {
  partitionId: string | null;
  delivered: number;
  inMetadata: number;
  firstSequenceNumber: number | null;
  lastSequenceNumber: number | null;
}

export const MAX_ERROR_CHARS = 1024;

export function eventProcessedLine(event: ConsumedEvent, nowMs: number, maxBodyChars: number): string {
  return `EventProcessed ${JSON.stringify(coordinates(event, nowMs, maxBodyChars))}`;
}

export function eventFailedLine(
  event: ConsumedEvent,
  nowMs: number,
  maxBodyChars: number,
  error: string,
  /** Null when the event was given up without a dead letter (the batch failed on its last attempt). */
  deadLetterBlob: string | null,
): string {
  const line = {
    ...coordinates(event, nowMs, maxBodyChars),
    error: truncate(error, MAX_ERROR_CHARS),
    deadLetterBlob,
  };
  return `EventFailed ${JSON.stringify(line)}`;
}

export function batchProcessedLine(summary: BatchSummary): string {
  return `BatchProcessed ${JSON.stringify(summary)}`;
}

export function batchFailedLine(failure: BatchFailure): string {
  return `BatchFailed ${JSON.stringify({ ...failure, error: truncate(failure.error, MAX_ERROR_CHARS) })}`;
}

export function deadLetterFailedLine(failure: DeadLetterFailure): string {
  return `DeadLetterFailed ${JSON.stringify(failure)}`;
}

export function batchMisalignedLine(misalignment: BatchMisalignment): string {
  return `BatchMisaligned ${JSON.stringify(misalignment)}`;
}

/** Milliseconds between the event's arrival in Event Hubs and now; null when the time is unknown. */
export function lagMs(event: ConsumedEvent, nowMs: number): number | null {
  if (event.enqueuedTimeUtc === null) return null;
  return Math.max(0, nowMs - Date.parse(event.enqueuedTimeUtc));
}

/** The body as text: strings as they are, Buffers in base64, anything else as JSON; cut at maxChars. */
export function bodyForLog(body: unknown, maxChars: number): { body: string; bodyTruncated: boolean } {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (Buffer.isBuffer(body)) text = body.toString('base64');
  else text = JSON.stringify(body) ?? String(body);
  return text.length > maxChars
    ? { body: truncate(text, maxChars), bodyTruncated: true }
    : { body: text, bodyTruncated: false };
}

function coordinates(event: ConsumedEvent, nowMs: number, maxBodyChars: number): EventCoordinates {
  return {
    partitionId: event.partitionId,
    sequenceNumber: event.sequenceNumber,
    offset: event.offset,
    enqueuedTimeUtc: event.enqueuedTimeUtc,
    partitionKey: event.partitionKey,
    properties: event.properties,
    ...bodyForLog(event.body, maxBodyChars),
    lagMs: lagMs(event, nowMs),
  };
}

/** Cuts at maxChars without splitting a surrogate pair. */
function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
  return text.slice(0, end);
}
