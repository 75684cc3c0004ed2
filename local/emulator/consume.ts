// A consumer's link (<hub>/ConsumerGroups/<group>/Partitions/<id>): delivers the partition's
// events from the starting position, within the credit the client grants, and keeps delivering
// new events as they are stored. Nothing is sent before the link's ATTACH reply has gone out: the
// client may grant credit in the same packet as its ATTACH, but Microsoft.Azure.Amqp (.NET) aborts
// a link that gets a TRANSFER before its ATTACH, as the AMQP spec allows. Deliveries are pre-settled (the client's disposition has no
// meaning for Event Hubs) and reuse each event's stored bytes; only runtime metrics, when the
// receiver asks for them, are encoded per delivery.
import { type Delivery } from 'rhea';
import { runtimeInfoSection } from './amqp/eventMessage';
import { type ServerSender } from './amqp/rheaTypes';
import { type PartitionLog, type StoredEvent } from './store/partitionLog';

export const RUNTIME_METRIC_CAPABILITY = 'com.microsoft:enable-receiver-runtime-metric';
/** snd-settle-mode "settled": every delivery is sent pre-settled. */
const SENDER_SETTLED = 1;

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

  close(): void {
    this.closed = true;
    this.unsubscribe();
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
