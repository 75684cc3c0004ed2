// THE per-event work: replace the body of handleEvent with your own logic.
//
// Contract (kept by src/functions/processEvents.ts):
// - called once per event, in partition order; resolve when the event is done;
// - throw (or reject) to mark this one event as failed: it is logged as EventFailed, written to the
//   dead-letter container and the batch continues;
// - throw a RetryBatchError when the failure is not the event's fault (a dependency is down): the whole
//   batch is retried by the trigger's retry policy;
// - events can be delivered more than once (retries, rebalancing, restarts): make the work idempotent,
//   for example keyed by partitionId + sequenceNumber.
import type { InvocationContext } from '@azure/functions';
import type { ConsumedEvent } from './triggerEvents';

export type EventHandler = (event: ConsumedEvent, context: InvocationContext) => Promise<void> | void;

export const handleEvent: EventHandler = async (event) => {
  // SAMPLE BEHAVIOUR, replace it: an event whose application property `poison` is true fails, so that
  // dead-lettering can be tried with curl (header `x-event-properties: {"poison": true}`).
  if (event.properties.poison === true || event.properties.poison === 'true') {
    throw new Error('Sample handler: event is marked as poison (application property poison=true)');
  }
};
