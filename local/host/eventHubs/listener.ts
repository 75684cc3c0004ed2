// The Event Hubs trigger of one function: an EventHubConsumerClient with a BlobCheckpointStore on
// the host storage account (container `azure-webjobs-eventhub`, the host's blob layout), so several
// local hosts - or a local host and the real one - share partitions through blob ownership.
import {
  earliestEventPosition,
  EventHubConsumerClient,
  latestEventPosition,
  type PartitionContext,
  RetryMode,
  type Subscription,
} from '@azure/event-hubs';
import type { EventPosition, ReceivedEventData } from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import type { ContainerClient } from '@azure/storage-blob';
import { type RegisteredFunction } from '../coreModule';
import { eventHubsConnection } from '../connections';
import { type EventHubsHostOptions, type InitialOffset } from '../hostJson';
import { type Invoker } from '../invoke';
import { type HostLogger } from '../logger';
import { retryPolicyFrom, type RetryPolicy } from '../retry';
import { resolveSettingReferences, HostSettingsError } from '../settings';
import { PartitionProcessor } from './partitionProcessor';
import { type TriggerShape } from './triggerInput';

export const CHECKPOINT_CONTAINER = 'azure-webjobs-eventhub';
/** host.json logging.logLevel key for the trigger's own lines (partition ownership, receive errors). */
export const TRIGGER_LOG_CATEGORY = 'Host.Triggers.EventHubs';

export interface EventHubTriggerFunction {
  fn: RegisteredFunction;
  triggerName: string;
  /** Setting names and values after `%NAME%` resolution. */
  connection: string;
  eventHubName: string;
  consumerGroup: string;
  shape: TriggerShape;
  retry?: RetryPolicy;
}

/** How quickly instances rebalance: host.json loadBalancingUpdateInterval, partitionOwnershipExpirationInterval. */
export interface LoadBalancingOptions {
  updateIntervalMs: number;
  ownershipExpirationMs: number;
}

/**
 * The host's: extension 6.x leaves Azure.Messaging.EventHubs' EventProcessorOptions defaults (30 s, 2 min;
 * the JavaScript SDK's own are 10 s, 1 min). Greedy strategy in both (EventHubOptions).
 */
export const DEFAULT_LOAD_BALANCING: LoadBalancingOptions = {
  updateIntervalMs: 30_000,
  ownershipExpirationMs: 120_000,
};

export function describeEventHubFunctions(
  functions: RegisteredFunction[],
  capabilities: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): EventHubTriggerFunction[] {
  return functions.flatMap((fn) => {
    const trigger = Object.entries(fn.metadata.bindings).find(
      ([, b]) => b.type?.toLowerCase() === 'eventhubtrigger',
    );
    if (!trigger) return [];
    const [triggerName, binding] = trigger;
    const where = `function "${fn.metadata.name}"`;
    const setting = (name: string) => {
      const raw = binding[name];
      if (typeof raw !== 'string' || raw === '')
        throw new HostSettingsError(`${where}: the trigger has no ${name}`);
      return resolveSettingReferences(raw, env);
    };
    const cardinality = String(binding.cardinality ?? 'many').toLowerCase() === 'one' ? 'one' : 'many';
    return [
      {
        fn,
        triggerName,
        connection:
          typeof binding.connection === 'string' && binding.connection
            ? binding.connection
            : 'AzureWebJobsEventHub',
        eventHubName: setting('eventHubName'),
        consumerGroup: typeof binding.consumerGroup === 'string' ? setting('consumerGroup') : '$Default',
        shape: {
          functionName: fn.metadata.name,
          cardinality,
          dataType: triggerDataType(binding.dataType),
          includeEmptyEntries: capabilities.IncludeEmptyEntriesInMessagePayload?.toLowerCase() === 'true',
        },
        retry: retryPolicyFrom(fn.metadata.retryOptions),
      },
    ];
  });
}

/** GeneralScriptBindingProvider.ParseDataType: case-insensitive; anything else binds object (Newtonsoft). */
function triggerDataType(value: unknown): TriggerShape['dataType'] {
  const dataType = typeof value === 'string' ? value.toLowerCase() : '';
  return dataType === 'binary' || dataType === 'string' ? dataType : 'default';
}

export class EventHubListener {
  private readonly trigger: EventHubTriggerFunction;
  private readonly options: EventHubsHostOptions;
  private readonly invoker: Invoker;
  private readonly logger: HostLogger;
  private readonly stopping = new AbortController();
  private readonly partitions = new Map<string, PartitionProcessor>();
  private readonly client: EventHubConsumerClient;
  private readonly checkpointStore: BlobCheckpointStore;
  private subscription?: Subscription;

  constructor(
    trigger: EventHubTriggerFunction,
    deps: {
      options: EventHubsHostOptions;
      container: ContainerClient;
      invoker: Invoker;
      logger: HostLogger;
      loadBalancing: LoadBalancingOptions;
      /** Stable per host instance, so a restarted host takes its partitions back at once. */
      ownerId: string;
      env?: NodeJS.ProcessEnv;
    },
  ) {
    this.trigger = trigger;
    this.options = deps.options;
    this.invoker = deps.invoker;
    this.logger = deps.logger;
    const retry = deps.options.clientRetry;
    const clientOptions = {
      identifier: deps.ownerId,
      userAgent: 'eventhubs-functions-local-host',
      retryOptions: {
        maxRetries: retry.maximumRetries,
        retryDelayInMs: retry.delayMs,
        maxRetryDelayInMs: retry.maximumDelayMs,
        timeoutInMs: retry.tryTimeoutMs,
        mode: retry.mode === 'fixed' ? RetryMode.Fixed : RetryMode.Exponential,
      },
      // Greedy: a lone instance claims every partition at once instead of one per interval.
      loadBalancingOptions: {
        strategy: 'greedy' as const,
        updateIntervalInMs: deps.loadBalancing.updateIntervalMs,
        partitionOwnershipExpirationIntervalInMs: deps.loadBalancing.ownershipExpirationMs,
      },
    };
    const checkpointStore = new BlobCheckpointStore(deps.container);
    this.checkpointStore = checkpointStore;
    const connection = eventHubsConnection(trigger.connection, deps.env);
    this.client =
      connection.kind === 'connectionString'
        ? new EventHubConsumerClient(
            trigger.consumerGroup,
            connection.connectionString,
            trigger.eventHubName,
            checkpointStore,
            clientOptions,
          )
        : new EventHubConsumerClient(
            trigger.consumerGroup,
            connection.fullyQualifiedNamespace,
            trigger.eventHubName,
            connection.credential,
            checkpointStore,
            clientOptions,
          );
  }

  get ownerId(): string {
    return this.client.identifier;
  }

  async start(): Promise<void> {
    await this.releaseOwnPartitionsFromAnEarlierRun();
    const { fn, shape, retry, triggerName } = this.trigger;
    const runtime = {
      fn,
      triggerName,
      shape,
      retry,
      options: this.options,
      invoker: this.invoker,
      logger: this.logger,
      stopping: this.stopping.signal,
    };
    const name = fn.metadata.name;
    const processorFor = (context: PartitionContext) => {
      let processor = this.partitions.get(context.partitionId);
      if (!processor) {
        processor = new PartitionProcessor(runtime, context);
        this.partitions.set(context.partitionId, processor);
      }
      return processor;
    };
    this.subscription = this.client.subscribe(
      {
        processInitialize: async (context) => {
          this.partitions.delete(context.partitionId);
          processorFor(context);
          this.logger.log(
            'information',
            `${this.describe(name)} started processing partition ${context.partitionId}`,
          );
        },
        processEvents: (events: ReceivedEventData[], context) =>
          processorFor(context).processEvents(events, context),
        processClose: async (reason, context) => {
          const processor = this.partitions.get(context.partitionId);
          this.partitions.delete(context.partitionId);
          await processor?.close(reason);
          if (processor?.faulted) await this.restartPartition(context.partitionId);
          this.logger.log(
            'information',
            `${this.describe(name)} stopped processing partition ${context.partitionId} (${reason})`,
            TRIGGER_LOG_CATEGORY,
          );
        },
        processError: async (error, context) => {
          const where = context.partitionId
            ? ` (Partition Id: '${context.partitionId}', Owner: '${this.ownerId}', EventHubPath: '${this.trigger.eventHubName}')`
            : '';
          const code = (error as { code?: string }).code;
          const expected = code === 'ReceiverDisconnectedError';
          this.logger.log(
            expected ? 'debug' : 'warning',
            `${this.describe(name)}${where}: ${code ? `${code}: ` : ''}${error.message}`,
            TRIGGER_LOG_CATEGORY,
          );
        },
      },
      {
        maxBatchSize: this.options.maxEventBatchSize,
        maxWaitTimeInSeconds: 60,
        prefetchCount: this.options.prefetchCount > 0 ? this.options.prefetchCount : undefined,
        startPosition: startPosition(this.options.initialOffset),
        skipParsingBodyAsJson: true,
      },
    );
  }

  /**
   * Stops receiving, lets running invocations finish (without checkpointing them, as the host does)
   * and gives up partition ownership so another instance can take over at once.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.subscription?.close();
    await this.client.close();
  }

  /**
   * The owner id is stable per host (machine, port, function). Partitions this id still owns from a
   * run that ended without giving them up (kill -9) would otherwise sit idle until ownership expires:
   * the SDK counts them as already ours. Marking them abandoned lets the subscription claim them now.
   */
  private async releaseOwnPartitionsFromAnEarlierRun(): Promise<void> {
    try {
      const owned = await this.checkpointStore.listOwnership(
        this.client.fullyQualifiedNamespace,
        this.trigger.eventHubName,
        this.trigger.consumerGroup,
      );
      const stale = owned.filter((ownership) => ownership.ownerId === this.ownerId);
      if (stale.length > 0)
        await this.checkpointStore.claimOwnership(stale.map((o) => ({ ...o, ownerId: '' })));
    } catch (error) {
      this.logger.log(
        'warning',
        `Could not release partitions left by an earlier run: ${String(error)}`,
        TRIGGER_LOG_CATEGORY,
      );
    }
  }

  /**
   * After a failed checkpoint write the host's processor restarts the partition at its next
   * load-balancing cycle. The JavaScript SDK would only take a partition it still owns back once that
   * ownership expired (2 min), so the ownership is marked abandoned: the next cycle claims it again and
   * reads from the last stored checkpoint.
   */
  private async restartPartition(partitionId: string): Promise<void> {
    try {
      const owned = await this.checkpointStore.listOwnership(
        this.client.fullyQualifiedNamespace,
        this.trigger.eventHubName,
        this.trigger.consumerGroup,
      );
      const mine = owned.filter((o) => o.partitionId === partitionId && o.ownerId === this.ownerId);
      if (mine.length > 0)
        await this.checkpointStore.claimOwnership(mine.map((o) => ({ ...o, ownerId: '' })));
    } catch (error) {
      this.logger.log(
        'warning',
        `Could not give up partition ${partitionId} for a restart: ${String(error)}`,
        TRIGGER_LOG_CATEGORY,
      );
    }
  }

  private describe(name: string): string {
    return `EventHub trigger 'Functions.${name}' (hub '${this.trigger.eventHubName}', consumer group '${this.trigger.consumerGroup}')`;
  }
}

function startPosition(offset: InitialOffset): EventPosition {
  if (offset.type === 'fromEnd') return latestEventPosition;
  if (offset.type === 'fromEnqueuedTime') return { enqueuedOn: offset.enqueuedTimeUtc };
  return earliestEventPosition;
}
