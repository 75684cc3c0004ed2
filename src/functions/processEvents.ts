// Consumes the hub in batches (cardinality many). Every event gets one EventProcessed or EventFailed
// line, every invocation one BatchProcessed line (formats in src/lib/eventLog.ts). A failing event is
// dead-lettered and the batch goes on; if dead-lettering fails, or the handler throws RetryBatchError,
// the invocation fails and the retry policy below runs the whole batch again (at-least-once).
import { app, type InvocationContext } from '@azure/functions';
import { getSharedDeadLetterStore, type DeadLetterStore } from '../lib/deadLetter';
import { handleEvent, type EventHandler } from '../lib/eventHandler';
import { batchProcessedLine, eventFailedLine, eventProcessedLine, lagMs } from '../lib/eventLog';
import { describeError, redactSecrets } from '../lib/redact';
import { RetryBatchError } from '../lib/retryBatchError';
import { readConsumerSettings, type ConsumerSettings } from '../lib/settings';
import { readTriggerBatch } from '../lib/triggerEvents';

export interface ProcessEventsDependencies {
  readSettings(): ConsumerSettings;
  deadLetterStore(settings: ConsumerSettings): DeadLetterStore;
  handleEvent: EventHandler;
  now(): number;
}

export function createProcessEventsHandler(dependencies: ProcessEventsDependencies) {
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const settings = dependencies.readSettings();
    const batch = readTriggerBatch(messages, context.triggerMetadata);
    const eventHubName = batch.eventHubName ?? settings.eventHubName;
    const consumerGroup = batch.consumerGroup ?? settings.consumerGroup;
    if (!batch.aligned) {
      const misaligned = {
        partitionId: batch.partitionId,
        delivered: batch.events.length,
        inMetadata: batch.metadataCount,
        firstSequenceNumber: batch.firstSequenceNumber,
        lastSequenceNumber: batch.lastSequenceNumber,
      };
      context.warn(`BatchMisaligned ${JSON.stringify(misaligned)}`);
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
        const line = {
          partitionId: event.partitionId,
          sequenceNumber: event.sequenceNumber,
          offset: event.offset,
          error: describeError(storageError),
          retryCount: context.retryContext?.retryCount ?? null,
          maxRetryCount: context.retryContext?.maxRetryCount ?? null,
        };
        context.error(`DeadLetterFailed ${JSON.stringify(line)}`);
        throw new Error(
          `Dead-lettering event ${event.partitionId}/${event.sequenceNumber} failed; the batch will be retried`,
          { cause: storageError },
        );
      }
      failed += 1;
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
  };
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
  // to 5 min, 8 times), then the host checkpoints past it. The DeadLetterFailed lines keep the coordinates.
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: 8,
    minimumInterval: { seconds: 10 },
    maximumInterval: { minutes: 5 },
  },
  handler: processEvents,
});
