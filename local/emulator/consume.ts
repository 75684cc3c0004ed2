// A consumer's link (<hub>/ConsumerGroups/<group>/Partitions/<id>): attached from the start
// position its selector filter names, once it holds the partition's ownership in its consumer
// group (epoch), it delivers the partition's events from there, within the credit the client grants, and keeps delivering
// new events as they are stored. Nothing is sent before the link's ATTACH reply has gone out: the
// client may grant credit in the same packet as its ATTACH, but Microsoft.Azure.Amqp (.NET) aborts
// a link that gets a TRANSFER before its ATTACH, as the AMQP spec allows. Deliveries are pre-settled (the client's disposition has no
// meaning for Event Hubs) and reuse each event's stored bytes; only runtime metrics, when the
// receiver asks for them, are encoded per delivery.
import { type Delivery, types } from 'rhea';
import { runtimeInfoSection } from './amqp/eventMessage';
import { capabilityList, type ServerSender } from './amqp/rheaTypes';
import { withdrawUnsentDeliveries } from './amqp/unsentDeliveries';
import { completeAttachReply } from './attachReply';
import { type AmqpError, Condition } from './errors';
import { FilterError, parseStartPosition, type ResolvedStart, resolveStart } from './eventPosition';
import { type Logger } from './logger';
import { type OwnershipRegistry } from './ownership';
import { type Hub } from './store/eventStore';
import { type Partition } from './store/partition';
import { type PartitionLog, type StoredEvent } from './store/partitionLog';

export const RUNTIME_METRIC_CAPABILITY = 'com.microsoft:enable-receiver-runtime-metric';
/** snd-settle-mode "settled": every delivery is sent pre-settled. */
const SENDER_SETTLED = 1;
const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const SELECTOR_FILTER_CODE = 0x468c00000004;
const EPOCH_PROPERTY = 'com.microsoft:epoch';
const RECEIVER_NAME_PROPERTY = 'com.microsoft:receiver-name';

/** What attaching a consumer link needs from its connection. */
export interface ConsumerAttachScope {
  /** The connection's id, for logs. */
  connectionId: string;
  ownership: OwnershipRegistry;
  logger: Logger;
  /** Refuses the link now, or evicts it later (a consumer with a higher epoch took over). */
  refuse(error: AmqpError): void;
}

/** The target of a consumer link whose entities exist and whose token covers it. */
export interface ConsumerTarget {
  address: string;
  hub: Hub;
  /** The consumer group's configured spelling. */
  consumerGroup: string;
  partition: Partition;
}

/**
 * Completes the attach of a consumer link: resolves its start position, takes the partition's
 * ownership, echoes the filter and starts delivering. Undefined when the link was refused.
 */
export function attachConsumer(
  sender: ServerSender,
  { address, hub, consumerGroup, partition }: ConsumerTarget,
  scope: ConsumerAttachScope,
): { consumer: ConsumerLink; close(): void } | undefined {
  const filter = selectorExpression(sender.source?.filter);
  let start: ResolvedStart;
  try {
    start = resolveStart(parseStartPosition(filter), partition.log);
  } catch (error) {
    if (!(error instanceof FilterError)) throw error;
    scope.refuse({ condition: Condition.argumentError, description: error.message });
    return undefined;
  }
  if (start.beyondEnd) {
    scope.logger.warn(
      `${address}: the requested position (${filter}) is beyond the end of the partition ` +
        `(next sequence number ${partition.log.nextSequenceNumber}); its events are gone, as after a restart ` +
        `without --data-dir. Delivering from the earliest event, sequence number ${start.sequenceNumber}.`,
    );
  }

  const properties = (sender.properties ?? {}) as Record<string, unknown>;
  const epoch =
    typeof properties[EPOCH_PROPERTY] === 'number' ? (properties[EPOCH_PROPERTY] as number) : undefined;
  const name = String(properties[RECEIVER_NAME_PROPERTY] ?? sender.name);
  const ownerKey = `${hub.config.name.toLowerCase()}/${consumerGroup.toLowerCase()}/${partition.id}`;
  const owned = { name, epoch, evict: (error: AmqpError) => scope.refuse(error) };
  const refusal = scope.ownership.acquire(ownerKey, owned);
  if (refusal) {
    scope.refuse(refusal);
    return undefined;
  }

  // Echo the filter: it tells the client the filter was applied.
  sender.set_source({
    address,
    ...(filter !== undefined && {
      filter: { [SELECTOR_FILTER]: types.wrap_described(filter, SELECTOR_FILTER_CODE) },
    }),
  });
  sender.set_target({ address: sender.target?.address });
  const runtimeMetrics = capabilityList(sender.desired_capabilities).includes(RUNTIME_METRIC_CAPABILITY);
  const consumer = new ConsumerLink(sender, partition.log, start.sequenceNumber, runtimeMetrics);
  completeAttachReply(sender);
  scope.logger.debug(
    `${scope.connectionId}: consumer '${name}' attached to ${address} from sequence number ${start.sequenceNumber}` +
      (epoch === undefined ? '' : ` with epoch ${epoch}`),
  );
  return {
    consumer,
    close: () => {
      consumer.close();
      scope.ownership.release(ownerKey, owned);
    },
  };
}

function selectorExpression(filter: unknown): string | undefined {
  if (!filter || typeof filter !== 'object') return undefined;
  const value = (filter as Record<string, unknown>)[SELECTOR_FILTER];
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'value' in value)
    return String((value as { value: unknown }).value);
  return undefined;
}

export class ConsumerLink {
  private nextSequenceNumber: number;
  /** Deliveries handed to rhea but not yet written out; they still count against the credit. */
  private readonly queued: Delivery[] = [];
  private queuedHead = 0;
  private readonly unsubscribe: () => void;
  private closed = false;
  /** False until rhea has written the ATTACH reply (it writes a session's transfers before its attaches). */
  private attached = false;
  private drainRequested = false;

  constructor(
    private readonly sender: ServerSender,
    private readonly log: PartitionLog,
    startSequenceNumber: number,
    private readonly runtimeMetrics: boolean,
  ) {
    sender.local.attach.snd_settle_mode = SENDER_SETTLED;
    if (runtimeMetrics) sender.local.attach.offered_capabilities = [RUNTIME_METRIC_CAPABILITY];
    this.nextSequenceNumber = startSequenceNumber;
    this.unsubscribe = log.onAppend(() => this.pump());
    // rhea writes the ATTACH on the next tick (Connection._register); immediates run after it.
    setImmediate(() => {
      this.attached = true;
      if (this.drainRequested) this.drain();
      else this.pump();
    });
  }

  /** Sends as many available events as credit and the session window allow. */
  pump(): void {
    if (this.closed || !this.attached || !this.sender.is_open()) return;
    while (this.queuedHead < this.queued.length && this.queued[this.queuedHead].remote_settled)
      this.queuedHead++;
    if (this.queuedHead === this.queued.length) {
      this.queued.length = 0;
      this.queuedHead = 0;
    }
    let budget = Math.min(
      this.sender.credit - (this.queued.length - this.queuedHead),
      this.sender.session.outgoing.available(),
    );
    // Events that retention removed are skipped: delivery resumes at the oldest retained one.
    if (this.nextSequenceNumber < this.log.firstSequenceNumber)
      this.nextSequenceNumber = this.log.firstSequenceNumber;
    while (budget > 0 && this.nextSequenceNumber < this.log.nextSequenceNumber) {
      const event = this.log.get(this.nextSequenceNumber)!;
      this.queued.push(
        this.sender.send(this.runtimeMetrics ? this.withRuntimeInfo(event) : event.bytes, undefined, 0),
      );
      this.nextSequenceNumber++;
      budget--;
    }
  }

  /** A drain request: send what is available, then give the remaining credit back. */
  drain(): void {
    if (!this.attached) {
      this.drainRequested = true;
      return;
    }
    this.pump();
    if (this.nextSequenceNumber >= this.log.nextSequenceNumber) this.sender.set_drained(true);
  }

  /** The link closed: nothing more goes out on it, not even what rhea still holds (unsentDeliveries.ts). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    withdrawUnsentDeliveries(this.sender);
  }

  private withRuntimeInfo(event: StoredEvent): Buffer {
    const section = runtimeInfoSection({
      lastSequenceNumber: this.log.nextSequenceNumber - 1,
      lastOffset: String(this.log.lastOffset),
      lastEnqueuedTimeMs: this.log.lastEnqueuedTimeMs,
      retrievalTimeMs: Date.now(),
    });
    const at = event.deliveryAnnotationsAt;
    return Buffer.concat([event.bytes.subarray(0, at), section, event.bytes.subarray(at)]);
  }
}
