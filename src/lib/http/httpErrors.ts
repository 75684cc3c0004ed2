// Every non-2xx answer of POST /api/events is an HttpError: a status, a stable machine-readable code,
// a message meant for the caller, and optional extra fields. Publishing failures are mapped here to a
// status (by what eventHubsErrors.ts reads from the SDK's codes) and the request's progress; SDK
// messages stay in the logs.
import { errorCode, isAbort, isTransient, lastAttemptError } from '../publish/eventHubsErrors';
import { EventTooLargeError, PublishError, type Routing } from '../publish/publisher';

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

/** Where a request stopped: what Event Hubs confirmed, and what was sent without an answer. */
type Progress = {
  eventsAccepted: number;
  eventsUnconfirmed: number;
  retryFromIndex: number;
};

export function publishFailure(error: unknown, routing: Routing): HttpError {
  if (error instanceof EventTooLargeError) {
    return new HttpError(413, 'event_too_large', `${error.message}; nothing was published`, {
      index: error.index,
      maxBatchBytes: error.maxBatchBytes,
      eventsAccepted: 0,
      eventsUnconfirmed: 0,
    });
  }
  const stopped = error instanceof PublishError ? error : undefined;
  const accepted = stopped?.eventsAccepted ?? 0;
  const unconfirmed = stopped?.eventsUnconfirmed ?? 0;
  const attempts = stopped ? stopped.cause : error;
  const cause = lastAttemptError(attempts);
  const progress: Progress = {
    eventsAccepted: accepted,
    eventsUnconfirmed: unconfirmed,
    retryFromIndex: accepted,
  };
  const outcome = describeOutcome(progress, stopped);
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
  if (isTransient(cause)) {
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

function describeOutcome(progress: Progress, stopped: PublishError | undefined): string {
  const { eventsAccepted: accepted, eventsUnconfirmed: unconfirmed } = progress;
  const published =
    accepted === 0 ? 'No event was confirmed by Event Hubs.' : `The first ${accepted} events were published.`;
  if (unconfirmed === 0) {
    return accepted === 0 ? 'No event was published.' : `${published} Retry from index ${accepted}.`;
  }
  const batch = stopped ? ` (batch ${stopped.batchesSent + 1} of ${stopped.batchCount})` : '';
  return (
    `${published} Events ${accepted} to ${accepted + unconfirmed - 1}${batch} were sent without an answer ` +
    `and may be stored: retrying from index ${accepted} may duplicate them.`
  );
}
