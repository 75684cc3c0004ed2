// Every non-2xx answer of POST /api/events is an HttpError: a status, a stable machine-readable code,
// a message meant for the caller, and optional extra fields. SDK errors are mapped here by their code;
// their messages stay in the logs.
import { EventTooLargeError, PublishError, type Routing } from './publisher';

export const RETRY_AFTER_SECONDS = 5;

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Codes of Event Hubs failures that a later retry can succeed against: answered with 503 + Retry-After. */
const TRANSIENT_CODES = new Set([
  'ServerBusyError',
  'ServiceUnavailableError',
  'OperationTimeoutError',
  'OperationCancelledError',
  'InternalServerError',
  'SenderBusyError',
  'SenderNotReadyError',
  'InsufficientCreditError',
  'ConnectionForcedError',
  'ConnectionLostError',
  'DetachForcedError',
  'ServiceCommunicationError',
  'TransferLimitExceededError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * A caller's retry will not fix these: wrong key or missing role assignment, wrong hub, or a namespace
 * host name that does not exist (ENOTFOUND is the DNS answer "no such name"; EAI_AGAIN, a resolver that
 * did not answer, stays transient).
 */
const CONFIGURATION_CODES = new Set(['UnauthorizedError', 'MessagingEntityNotFoundError', 'ENOTFOUND']);

export function publishFailure(error: unknown, routing: Routing): HttpError {
  if (error instanceof EventTooLargeError) {
    return new HttpError(413, 'event_too_large', `${error.message}; nothing was published`, {
      index: error.index,
      maxBatchBytes: error.maxBatchBytes,
      eventsAccepted: 0,
    });
  }
  const accepted = error instanceof PublishError ? error.eventsAccepted : 0;
  const cause = lastAttemptError(error instanceof PublishError ? error.cause : error);
  const progress = {
    eventsAccepted: accepted,
    retryFromIndex: accepted,
  };
  const outcome =
    accepted === 0
      ? 'No event was published.'
      : `The first ${accepted} events were published; retry from index ${accepted}.`;
  const code = errorCode(cause);

  if (code === 'MessageTooLargeError') {
    return new HttpError(
      413,
      'batch_too_large',
      `Event Hubs refused a batch as too large. ${outcome}`,
      progress,
    );
  }
  if (code === 'ArgumentOutOfRangeError' && routing.type === 'partitionId') {
    return new HttpError(
      400,
      'unknown_partition_id',
      `Event Hubs has no partition "${routing.partitionId}". ${outcome}`,
      progress,
    );
  }
  if (isTransient(cause, code)) {
    const timedOut = isAbort(cause) || code === 'OperationTimeoutError';
    return new HttpError(
      503,
      timedOut ? 'event_hubs_timeout' : 'event_hubs_unavailable',
      `${timedOut ? 'Event Hubs did not answer in time.' : 'Event Hubs is unavailable or busy.'} ${outcome}`,
      { ...progress, retryAfterSeconds: RETRY_AFTER_SECONDS },
      { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    );
  }
  return new HttpError(
    500,
    'publish_failed',
    `Publishing failed; see the function's logs. ${outcome}`,
    progress,
  );
}

function isTransient(error: unknown, code: string | undefined): boolean {
  if (isAbort(error)) return true;
  if (code !== undefined && CONFIGURATION_CODES.has(code)) return false;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  return (error as { retryable?: unknown } | undefined)?.retryable === true;
}

/**
 * The SDK reports an operation it retried as an AggregateError of every attempt's error, with no code of
 * its own; the last attempt's error says why it finally failed.
 */
export function lastAttemptError(error: unknown): unknown {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return lastAttemptError(error.errors[error.errors.length - 1]);
  }
  return error;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
