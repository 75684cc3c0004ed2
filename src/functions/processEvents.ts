// Consumes the hub in batches (cardinality many), every body as bytes (dataType binary, see
// src/lib/consume/triggerEvents.ts) decoded by its content type. Every event gets one EventProcessed
// or EventFailed line, every invocation one BatchProcessed or BatchFailed line (formats in
// src/lib/consume/eventLog.ts). Whatever goes wrong with one event (its body contradicts its content
// type, the handler throws, its log line cannot be built) is that event's failure: it is dead-lettered
// and the batch goes on (the per-event step: src/lib/consume/processEvent.ts). Only what is not the
// event's fault fails the invocation, so that the retry policy below runs the whole batch again
// (at-least-once): the handler's RetryBatchError, dead-letter storage down.
import { app, type InvocationContext } from '@azure/functions';
import { getSharedDeadLetterStore } from '../lib/consume/deadLetter';
import { handleEvent } from '../lib/consume/eventHandler';
import {
  batchFailedLine,
  batchMisalignedLine,
  batchProcessedLine,
  eventFailedLine,
  lagMs,
} from '../lib/consume/eventLog';
import { processEvent, type EventStepDependencies } from '../lib/consume/processEvent';
import { readTriggerBatch, withBinaryBodies, type TriggerBatch } from '../lib/consume/triggerEvents';
import { describeError } from '../lib/redact';
import {
  bindingExpression,
  DEFAULTS,
  readConsumerSettings,
  SETTING_NAMES,
  type ConsumerSettings,
} from '../lib/settings';

export interface ProcessEventsDependencies extends EventStepDependencies {
  readSettings(): ConsumerSettings;
}

export function createProcessEventsHandler(dependencies: ProcessEventsDependencies) {
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const batch = readTriggerBatch(messages, context.triggerMetadata);
    const progress: BatchProgress = { settings: undefined, eventsDone: 0 };
    try {
      await processBatch(batch, context, dependencies, progress);
    } catch (error) {
      logBatchFailure(batch, progress, error, context, dependencies.now());
      throw error;
    }
  };
}

/** How far an invocation got: what its failure report needs. */
interface BatchProgress {
  settings: ConsumerSettings | undefined;
  /** Events at the start of the batch already logged as EventProcessed or dead-lettered. */
  eventsDone: number;
}

async function processBatch(
  batch: TriggerBatch,
  context: InvocationContext,
  dependencies: ProcessEventsDependencies,
  progress: BatchProgress,
): Promise<void> {
  const settings = dependencies.readSettings();
  progress.settings = settings;
  if (!batch.aligned) {
    context.warn(
      batchMisalignedLine({
        partitionId: batch.partitionId,
        delivered: batch.events.length,
        inMetadata: batch.metadataCount,
        firstSequenceNumber: batch.firstSequenceNumber,
        lastSequenceNumber: batch.lastSequenceNumber,
      }),
    );
  }

  let failed = 0;
  let maxLagMs: number | null = null;
  for (const [index, event] of batch.events.entries()) {
    const outcome = await processEvent(event, index, batch, context, dependencies, settings);
    const lag = lagMs(event, outcome.at);
    if (lag !== null) maxLagMs = Math.max(maxLagMs ?? 0, lag);
    if (outcome.failed) failed += 1;
    progress.eventsDone += 1;
  }

  context.info(
    batchProcessedLine({
      partitionId: batch.partitionId,
      count: batch.events.length,
      failed,
      firstSequenceNumber: batch.firstSequenceNumber,
      lastSequenceNumber: batch.lastSequenceNumber,
      maxLagMs,
    }),
  );
}

// One BatchFailed line per failed invocation. On the last attempt the host checkpoints past the batch
// once the invocation ends, so every event not yet processed or dead-lettered also gets an EventFailed
// line without a dead letter: its coordinates (and body, as logged) to replay it from Event Hubs.
function logBatchFailure(
  batch: TriggerBatch,
  progress: BatchProgress,
  failure: unknown,
  context: InvocationContext,
  now: number,
): void {
  const retryCount = context.retryContext?.retryCount ?? null;
  const maxRetryCount = context.retryContext?.maxRetryCount ?? null;
  const error = describeError(failure);
  context.error(
    batchFailedLine({
      partitionId: batch.partitionId,
      count: batch.events.length,
      firstSequenceNumber: batch.firstSequenceNumber,
      lastSequenceNumber: batch.lastSequenceNumber,
      retryCount,
      maxRetryCount,
      error,
    }),
  );
  if (!isLastAttempt(retryCount, maxRetryCount)) return;
  const logBodyMaxChars = progress.settings?.logBodyMaxChars ?? DEFAULTS.logBodyMaxChars;
  const eventError = `Given up without a dead letter: the batch failed on its last attempt (${error})`;
  for (const event of batch.events.slice(progress.eventsDone)) {
    context.error(eventFailedLine(event, now, logBodyMaxChars, eventError, null));
  }
}

/** Without a retry context no retry policy applies, so this attempt is the last one too. */
function isLastAttempt(retryCount: number | null, maxRetryCount: number | null): boolean {
  if (retryCount === null || maxRetryCount === null) return true;
  return maxRetryCount !== -1 && retryCount >= maxRetryCount;
}

export const processEvents = createProcessEventsHandler({
  readSettings: () => readConsumerSettings(process.env),
  deadLetterStore: (settings) => getSharedDeadLetterStore(process.env, settings.deadLetterContainer),
  handleEvent,
  now: Date.now,
});

app.eventHub(
  'processEvents',
  withBinaryBodies({
    connection: SETTING_NAMES.eventHubConnection,
    eventHubName: bindingExpression(SETTING_NAMES.eventHubName),
    consumerGroup: bindingExpression(SETTING_NAMES.consumerGroup),
    cardinality: 'many',
    // Bounded: a batch whose dead letters cannot be written is retried for about 20 minutes (10 s doubling
    // to 5 min, 8 times), then the host checkpoints past it. The last attempt logs the coordinates of every
    // event it gives up (EventFailed with deadLetterBlob null).
    retry: {
      strategy: 'exponentialBackoff',
      maxRetryCount: 8,
      minimumInterval: { seconds: 10 },
      maximumInterval: { minutes: 5 },
    },
    handler: processEvents,
  }),
);
