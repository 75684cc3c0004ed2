// The per-event step of processEvents: decode the body, run the handler, log the outcome and, when the
// event fails, dead-letter it. The batch loop (src/functions/processEvents.ts) calls it once per event.
import type { InvocationContext } from '@azure/functions';
import { describeError, redactSecrets } from '../redact';
import type { ConsumerSettings } from '../settings';
import type { DeadLetterStore } from './deadLetter';
import type { EventHandler } from './eventHandler';
import { deadLetterFailedLine, eventFailedLine, eventProcessedLine } from './eventLog';
import { RetryBatchError } from './retryBatchError';
import { decodeEvent } from './bodyDecoding';
import type { ReceivedEvent, TriggerBatch } from './triggerEvents';

export interface EventStepDependencies {
  deadLetterStore(settings: ConsumerSettings): DeadLetterStore;
  handleEvent: EventHandler;
  now(): number;
}

/**
 * One event, start to end: decode, handle, log, and on failure dead-letter. Throws only what fails the
 * whole batch: a RetryBatchError from the handler, or dead-letter storage that cannot be written.
 */
export async function processEvent(
  event: ReceivedEvent,
  index: number,
  batch: TriggerBatch,
  context: InvocationContext,
  dependencies: EventStepDependencies,
  settings: ConsumerSettings,
): Promise<{ failed: boolean; at: number }> {
  let failure: unknown;
  try {
    await dependencies.handleEvent(decodeEvent(event), context);
  } catch (error) {
    if (error instanceof RetryBatchError) throw error;
    failure = error;
  }
  const now = dependencies.now();
  if (failure === undefined) {
    context.info(eventProcessedLine(event, now, settings.logBodyMaxChars));
    return { failed: false, at: now };
  }

  const error = errorText(failure);
  let deadLetterBlob: string;
  try {
    deadLetterBlob = await dependencies.deadLetterStore(settings).save({
      eventHubName: batch.eventHubName ?? settings.eventHubName,
      consumerGroup: batch.consumerGroup ?? settings.consumerGroup,
      batchIndex: index,
      batchFirstSequenceNumber: batch.firstSequenceNumber,
      batchLastSequenceNumber: batch.lastSequenceNumber,
      event,
      error,
      invocationId: context.invocationId,
      failedAtUtc: new Date(now).toISOString(),
    });
  } catch (storageError) {
    context.error(
      deadLetterFailedLine({
        partitionId: event.partitionId,
        sequenceNumber: event.sequenceNumber,
        offset: event.offset,
        error: describeError(storageError),
        retryCount: context.retryContext?.retryCount ?? null,
        maxRetryCount: context.retryContext?.maxRetryCount ?? null,
      }),
    );
    throw new Error(
      `Dead-lettering event ${event.partitionId}/${event.sequenceNumber} failed: ${describeError(storageError)}`,
      { cause: storageError },
    );
  }
  context.error(eventFailedLine(event, now, settings.logBodyMaxChars, error, deadLetterBlob));
  return { failed: true, at: now };
}

/** The failure's message, secrets removed; never throws, whatever was thrown. */
function errorText(failure: unknown): string {
  try {
    return redactSecrets(failure instanceof Error ? failure.message : String(failure));
  } catch {
    return 'The handler threw a value that cannot be turned into text';
  }
}
