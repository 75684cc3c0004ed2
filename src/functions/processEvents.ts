// Consumes the hub in batches (cardinality many). Every event gets one EventProcessed or EventFailed
// line, every invocation one BatchProcessed or BatchFailed line (formats in src/lib/eventLog.ts). A
// failing event is dead-lettered and the batch goes on; if dead-lettering fails, or the handler throws
// RetryBatchError, the invocation fails and the retry policy below runs the whole batch again
// (at-least-once).
import { app, type InvocationContext } from '@azure/functions';
import { getSharedDeadLetterStore, type DeadLetterStore } from '../lib/deadLetter';
import { handleEvent, type EventHandler } from '../lib/eventHandler';
import {
  batchFailedLine,
  batchMisalignedLine,
  batchProcessedLine,
  deadLetterFailedLine,
  eventFailedLine,
  eventProcessedLine,
  lagMs,
} from '../lib/eventLog';
import { describeError, redactSecrets } from '../lib/redact';
import { RetryBatchError } from '../lib/retryBatchError';
import { DEFAULTS, readConsumerSettings, type ConsumerSettings } from '../lib/settings';
import { readTriggerBatch, type TriggerBatch } from '../lib/triggerEvents';

export interface ProcessEventsDependencies {
  readSettings(): ConsumerSettings;
  deadLetterStore(settings: ConsumerSettings): DeadLetterStore;
  handleEvent: EventHandler;
  now(): number;
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
  const eventHubName = batch.eventHubName ?? settings.eventHubName;
  const consumerGroup = batch.consumerGroup ?? settings.consumerGroup;
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
    let failure: unknown;
    try {
      await dependencies.handleEvent(event, context);
    } catch (error) {
      if (error instanceof RetryBatchError) throw error;
      failure = error;
    }
    const now = dependencies.now();
    const lag = lagMs(event, now);
    if (lag !== null) maxLagMs = Math.max(maxLagMs ?? 0, lag);
    if (failure === undefined) {
      context.info(eventProcessedLine(event, now, settings.logBodyMaxChars));
      progress.eventsDone += 1;
      continue;
    }

    const error = redactSecrets(failure instanceof Error ? failure.message : String(failure));
    let deadLetterBlob: string;
    try {
      deadLetterBlob = await dependencies.deadLetterStore(settings).save({
        eventHubName,
        consumerGroup,
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
    failed += 1;
    progress.eventsDone += 1;
    context.error(eventFailedLine(event, now, settings.logBodyMaxChars, error, deadLetterBlob));
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

app.eventHub('processEvents', {
  connection: 'EventHubConnection',
  eventHubName: '%EVENTHUB_NAME%',
  consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
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
});
