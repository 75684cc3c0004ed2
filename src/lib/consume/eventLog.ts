// The consumer's log lines, a contract with the Application Insights queries in infra/:
// `<Kind> <one-line JSON object>`, e.g.
//   traces | where message startswith "EventProcessed " | extend e = parse_json(substring(message, 15))
import { isUtf8 } from 'node:buffer';
import { traceIdOf } from '../traceContext';
import { coordinateFields, type EventCoordinates } from './triggerEvents';

/** What a log line or dead letter needs of an event: coordinates and the exact body. */
export interface LoggableEvent extends EventCoordinates {
  rawBody: Buffer;
}

/** The body as logged: text when it is UTF-8, else base64; exact up to the cut. */
export interface LoggedBody {
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  bodyTruncated: boolean;
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

/** One partition's lag, as the consumerLag timer function logs it (see consumerLag.ts). */
export interface ConsumerLagSummary {
  partitionId: string;
  lagEvents: number;
  lagSeconds: number | null;
  checkpointSequenceNumber: number | null;
  lastEnqueuedSequenceNumber: number;
}

export const MAX_ERROR_CHARS = 1024;

export function eventProcessedLine(event: LoggableEvent, nowMs: number, maxBodyChars: number): string {
  return line('EventProcessed', eventFields(event, nowMs, maxBodyChars));
}

export function eventFailedLine(
  event: LoggableEvent,
  nowMs: number,
  maxBodyChars: number,
  error: string,
  /** Null when the event was given up without a dead letter (the batch failed on its last attempt). */
  deadLetterBlob: string | null,
): string {
  return line('EventFailed', {
    ...eventFields(event, nowMs, maxBodyChars),
    error: truncate(error, MAX_ERROR_CHARS),
    deadLetterBlob,
  });
}

export function batchProcessedLine(summary: BatchSummary): string {
  return line('BatchProcessed', { ...summary });
}

export function batchFailedLine(failure: BatchFailure): string {
  return line('BatchFailed', { ...failure, error: truncate(failure.error, MAX_ERROR_CHARS) });
}

export function deadLetterFailedLine(failure: DeadLetterFailure): string {
  return line('DeadLetterFailed', { ...failure });
}

export function batchMisalignedLine(misalignment: BatchMisalignment): string {
  return line('BatchMisaligned', { ...misalignment });
}

export function consumerLagLine(lag: ConsumerLagSummary): string {
  return line('ConsumerLag', {
    partitionId: lag.partitionId,
    lagEvents: lag.lagEvents,
    lagSeconds: lag.lagSeconds,
    checkpointSequenceNumber: lag.checkpointSequenceNumber,
    lastEnqueuedSequenceNumber: lag.lastEnqueuedSequenceNumber,
  });
}

/** The lag could not be measured (Event Hubs or storage unreachable, a missing role). */
export function consumerLagFailedLine(error: string): string {
  return line('ConsumerLagFailed', { error: truncate(error, MAX_ERROR_CHARS) });
}

/** Milliseconds between the event's arrival in Event Hubs and now; null when the time is unknown. */
export function lagMs(event: Pick<EventCoordinates, 'enqueuedTimeUtc'>, nowMs: number): number | null {
  if (event.enqueuedTimeUtc === null) return null;
  return Math.max(0, nowMs - Date.parse(event.enqueuedTimeUtc));
}

/**
 * The exact body as text: UTF-8 bodies as they are (JSON keeps its source text: numbers their digits,
 * keys their order), other bytes in base64; cut at maxChars. Never parses or re-serialises the body, so
 * no body (a 100k-deep JSON array, say) can make a log line throw.
 */
export function bodyForLog(rawBody: Buffer, maxChars: number): LoggedBody {
  const bodyEncoding = isUtf8(rawBody) ? 'utf8' : 'base64';
  // Decode no more than the line can show: a 1 MB body costs a slice, not a copy.
  const limit = bodyEncoding === 'utf8' ? maxChars * 4 + 4 : Math.ceil(maxChars / 4) * 3 + 3;
  const shown = rawBody.subarray(0, limit);
  let text = bodyEncoding === 'utf8' ? shown.toString('utf8') : shown.toString('base64');
  if (bodyEncoding === 'utf8' && shown.length < rawBody.length) text = text.replace(/\uFFFD$/, '');
  const truncated = text.length > maxChars || shown.length < rawBody.length;
  return { body: truncated ? truncate(text, maxChars) : text, bodyEncoding, bodyTruncated: truncated };
}

function eventFields(event: LoggableEvent, nowMs: number, maxBodyChars: number): Record<string, unknown> {
  return {
    ...coordinateFields(event),
    traceId: traceIdOf(event.properties),
    contentType: event.contentType,
    ...bodyForLog(event.rawBody, maxBodyChars),
    lagMs: lagMs(event, nowMs),
  };
}

/**
 * `<Kind> <JSON>`, and never a throw: a field that cannot be serialised (properties nested beyond the
 * stack, a getter that throws) is replaced by a note, so one odd event cannot fail its batch.
 */
function line(kind: string, fields: Record<string, unknown>): string {
  return `${kind} ${safeJson(fields)}`;
}

export function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      try {
        JSON.stringify(value);
        kept[key] = value;
      } catch (error) {
        kept[key] = `[not serialisable: ${error instanceof Error ? error.name : 'error'}]`;
      }
    }
    return JSON.stringify(kept);
  }
}

/** Cuts at maxChars without splitting a surrogate pair. */
function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
  return text.slice(0, end);
}
