// What an Event Hubs SDK error says about the request: may a retry succeed, is the app misconfigured, and
// could a batch whose send failed still have been stored. One place reads SDK error codes.

/** Codes of failures that a later retry can succeed against. */
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

/**
 * Failures after which the batch is known not to be stored: the service settled the delivery as refused,
 * or the client never got as far as sending it (no connection, no credit, not authorised). Any other
 * failure of a send (a timeout, a connection lost mid-delivery, an unknown error) leaves the batch
 * unconfirmed: Event Hubs may have stored it.
 */
const NOT_STORED_CODES = new Set([
  'MessageTooLargeError',
  'ArgumentError',
  'ArgumentOutOfRangeError',
  'ServerBusyError',
  'ServiceUnavailableError',
  'QuotaExceededError',
  'MessagingEntityDisabledError',
  'SenderBusyError',
  'SenderNotReadyError',
  'InsufficientCreditError',
  ...CONFIGURATION_CODES,
  'ECONNREFUSED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An expired deadline (ours or the SDK's own abort). */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
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

function attemptErrors(error: unknown): unknown[] {
  return error instanceof AggregateError && error.errors.length > 0
    ? error.errors.flatMap(attemptErrors)
    : [error];
}

export function isTransient(error: unknown): boolean {
  if (isAbort(error)) return true;
  const code = errorCode(error);
  if (code !== undefined && CONFIGURATION_CODES.has(code)) return false;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  return (error as { retryable?: unknown } | undefined)?.retryable === true;
}

/**
 * Whether a failed send may still have stored its batch. Every attempt counts: the SDK retries a send
 * that timed out, and a later attempt's clean refusal does not undo the first one.
 */
export function mayHaveBeenStored(sendError: unknown): boolean {
  return attemptErrors(sendError).some((attempt) => {
    const code = errorCode(attempt);
    return code === undefined || !NOT_STORED_CODES.has(code);
  });
}
