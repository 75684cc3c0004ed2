// One partition of one Event Hubs-triggered function, following the extension's PartitionProcessor:
// invoke per batch (or per event for cardinality "one"), honour the function's retry policy, then
// checkpoint the batch's last event whether the function succeeded or not, every
// batchCheckpointFrequency batches. An invocation interrupted by stopping (a retry cut short, events
// never invoked) is not checkpointed, nor is anything after losing the partition: those events are
// delivered again (at-least-once). On shutdown, with batchCheckpointFrequency > 1, the last batch
// whose invocation finished is checkpointed. minEventBatchSize > 1 holds events back until enough
// arrived or maxWaitTime passed.
import type { PartitionContext, ReceivedEventData } from '@azure/event-hubs';
import { type RegisteredFunction } from '../coreModule';
import { type EventHubsHostOptions } from '../hostJson';
import { type Invoker } from '../invoke';
import { type HostLogger } from '../logger';
import { canRetry, retryDelayMs, type RetryPolicy } from '../retry';
import {
  type PartitionCoordinates,
  toTriggerInput,
  triggerDetails,
  TriggerBindingError,
  type TriggerInvocationInput,
  type TriggerShape,
} from './triggerInput';

/** The extension checkpoints held-back work after this long without events (batchCheckpointFrequency > 1). */
const IDLE_CHECKPOINT_MS = 600_000;

export interface TriggerRuntime {
  fn: RegisteredFunction;
  triggerName: string;
  shape: TriggerShape;
  retry?: RetryPolicy;
  options: EventHubsHostOptions;
  invoker: Invoker;
  logger: HostLogger;
  /** Aborted when the host stops. */
  stopping: AbortSignal;
}

export class PartitionProcessor {
  private readonly runtime: TriggerRuntime;
  private readonly coordinates: PartitionCoordinates;
  private context: PartitionContext;
  private batchCounter = 0;
  /** The last event of the last finished invocation, while no checkpoint covers it. */
  private uncheckpointed?: ReceivedEventData;
  private lastBatchReceivedAt = Date.now();
  private ownershipLost = new AbortController();
  private held: ReceivedEventData[] = [];
  /** A checkpoint write failed: the partition restarts from the stored checkpoint, nothing more is written. */
  private hasFaulted = false;
  private heldTimer?: NodeJS.Timeout;
  /** Serializes the SDK's calls with the held-events timer. */
  private queue: Promise<void> = Promise.resolve();

  constructor(runtime: TriggerRuntime, context: PartitionContext) {
    this.runtime = runtime;
    this.context = context;
    this.coordinates = {
      fullyQualifiedNamespace: context.fullyQualifiedNamespace,
      eventHubName: context.eventHubName,
      consumerGroup: context.consumerGroup,
      partitionId: context.partitionId,
    };
  }

  /** A checkpoint write failed: the listener gives the partition up so that it restarts at once. */
  get faulted(): boolean {
    return this.hasFaulted;
  }

  processEvents(events: ReceivedEventData[], context: PartitionContext): Promise<void> {
    this.context = context;
    return this.serialized(() => this.processInOrder(events));
  }

  async close(reason: string): Promise<void> {
    if (reason === 'OwnershipLost') this.ownershipLost.abort();
    clearTimeout(this.heldTimer);
    this.held = [];
    await this.serialized(async () => {
      if (reason !== 'OwnershipLost' && !this.hasFaulted && this.uncheckpointed)
        await this.checkpoint(this.uncheckpointed, 'on close');
    });
  }

  private async processInOrder(events: ReceivedEventData[]): Promise<void> {
    const { options } = this.runtime;
    if (events.length === 0) {
      const idle = Date.now() - this.lastBatchReceivedAt >= IDLE_CHECKPOINT_MS;
      if (idle && this.uncheckpointed) await this.checkpoint(this.uncheckpointed, 'after idling');
      return;
    }
    this.lastBatchReceivedAt = Date.now();
    if (this.cancelled) return;
    if (options.minEventBatchSize <= 1) return this.dispatch(events);

    this.held.push(...events);
    if (this.held.length >= options.minEventBatchSize) {
      clearTimeout(this.heldTimer);
      this.heldTimer = undefined;
      await this.dispatch(this.held.splice(0, options.maxEventBatchSize));
    }
    if (this.held.length > 0 && !this.heldTimer) {
      this.heldTimer = setTimeout(() => {
        this.heldTimer = undefined;
        void this.serialized(() => this.dispatchHeld());
      }, options.maxWaitTimeMs);
    }
  }

  private async dispatchHeld(): Promise<void> {
    if (this.held.length === 0 || this.cancelled) return;
    await this.dispatch(this.held.splice(0, this.runtime.options.maxEventBatchSize));
    if (this.held.length > 0) await this.dispatchHeld();
  }

  private async dispatch(events: ReceivedEventData[]): Promise<void> {
    const { options, shape } = this.runtime;
    this.batchCounter++;
    const checkpointAfter =
      options.batchCheckpointFrequency === 1 || this.batchCounter >= options.batchCheckpointFrequency;
    const invocations = shape.cardinality === 'one' ? events.map((event) => [event]) : [events];
    for (const batch of invocations) {
      if (this.cancelled || !(await this.invokeWithRetry(batch, checkpointAfter))) return;
      this.uncheckpointed = batch[batch.length - 1];
    }
    if (checkpointAfter && !this.cancelled && this.uncheckpointed)
      await this.checkpoint(this.uncheckpointed, 'after invocation');
  }

  /**
   * True when the invocation finished: it succeeded, or failed with no retry left. False when stopping
   * or losing the partition cut it short, so it must not be checkpointed.
   */
  private async invokeWithRetry(events: ReceivedEventData[], checkpointAfter: boolean): Promise<boolean> {
    const { fn, triggerName, shape, retry, invoker, logger } = this.runtime;
    let retries = 0;
    let lastError: unknown;
    for (;;) {
      let input: TriggerInvocationInput | undefined;
      let bindingFailure: string | undefined;
      try {
        input = toTriggerInput(events, this.coordinates, shape, checkpointAfter, triggerName);
      } catch (error) {
        if (!(error instanceof TriggerBindingError)) throw error;
        bindingFailure = error.hostMessage;
      }
      const result = await invoker.invoke(fn, {
        inputData: input ? [{ name: triggerName, data: input.data }] : [],
        triggerMetadata: input?.triggerMetadata,
        bindingFailure,
        retryContext: retry
          ? { retryCount: retries, maxRetryCount: retry.maxRetryCount, exception: toRpcException(lastError) }
          : undefined,
        reason: '(null)',
        details: triggerDetails(events, this.coordinates.partitionId, shape.cardinality),
      });
      if (result.succeeded) return true;
      if (!canRetry(retry, retries)) {
        if (retry) {
          // LoggerExtensions.LogFunctionRetriesFailed.
          logger.log(
            'error',
            `Function execution failed after '${retries}' retries.`,
            `Function.${fn.metadata.name}`,
          );
        }
        return true;
      }
      if (this.cancelled) return false;
      retries++;
      lastError = result.error;
      const delay = retryDelayMs(retry!, retries);
      // LoggerExtensions.LogFunctionRetryAttempt: Debug, in the function's category.
      logger.log(
        'debug',
        `Waiting for \`${formatTimeSpan(delay)}\` before retrying function execution. ` +
          `Next attempt: '${retries}'. Max retry count: '${retry!.maxRetryCount}'.`,
        `Function.${fn.metadata.name}`,
      );
      if (!(await sleep(delay, this.cancellation))) return false;
    }
  }

  /**
   * A checkpoint write that fails is not swallowed (PartitionProcessor.CheckpointAsync lets it escape):
   * the Event Hubs processor faults that partition's processing and a later load-balancing cycle starts it
   * again from the last stored checkpoint, so the batch is delivered again. Here the error leaves
   * processEvents, the SDK closes the partition and claims it again on its next cycle; closing this
   * processor writes no checkpoint of its own.
   */
  private async checkpoint(event: ReceivedEventData, when: string): Promise<void> {
    try {
      await this.context.updateCheckpoint(event);
    } catch (error) {
      this.hasFaulted = true;
      throw new Error(
        `Checkpoint ${when} failed for partition ${this.coordinates.partitionId} ` +
          `(sequence number ${event.sequenceNumber}); processing restarts from the last stored checkpoint: ` +
          `${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.batchCounter = 0;
    if (this.uncheckpointed === event) this.uncheckpointed = undefined;
  }

  private get cancelled(): boolean {
    return this.runtime.stopping.aborted || this.ownershipLost.signal.aborted || this.hasFaulted;
  }

  private get cancellation(): AbortSignal {
    return AbortSignal.any([this.runtime.stopping, this.ownershipLost.signal]);
  }

  private serialized(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task);
    this.queue = next.catch(() => {});
    return next;
  }
}

function toRpcException(error: unknown) {
  if (error === undefined) return undefined;
  return error instanceof Error
    ? { message: error.message, source: error.name, stackTrace: error.stack ?? null }
    : { message: String(error) };
}

/** Resolves true after `ms`, false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** TimeSpan's default format, hh:mm:ss[.fffffff]. */
export function formatTimeSpan(ms: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const ticks = Math.round(ms * 10_000);
  const totalSeconds = Math.floor(ticks / 10_000_000);
  const fraction = ticks % 10_000_000 ? `.${String(ticks % 10_000_000).padStart(7, '0')}` : '';
  return `${pad(Math.floor(totalSeconds / 3600))}:${pad(Math.floor(totalSeconds / 60) % 60)}:${pad(totalSeconds % 60)}${fraction}`;
}
