// Thrown by an event handler when the failure is not the event's fault (a dependency is down): the
// whole invocation fails and the trigger's retry policy runs the batch again, instead of the event
// being dead-lettered.
export class RetryBatchError extends Error {
  override readonly name = 'RetryBatchError';
}
