// One partition: assigns sequence numbers, offsets and enqueued times to incoming events, makes
// them durable (group commit when persistence is on), then publishes them to the in-memory log
// that receivers read. Events become visible, and sends are acknowledged, only once stored, so a
// consumer never sees an event that a crash could take back.
import { AnnotatedEvent, type IncomingEvent } from '../amqp/eventMessage';
import { type PartitionLog, type StoredEvent } from './partitionLog';
import { type SegmentFiles } from './segmentFiles';

export type AppendCallback = (error: Error | undefined) => void;

interface PendingAppend {
  events: StoredEvent[];
  done: AppendCallback;
}

export class Partition {
  private nextSequenceNumber: number;
  private nextOffset: number;
  private lastEnqueuedTimeMs: number;
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    readonly log: PartitionLog,
    private readonly files: SegmentFiles | undefined,
    private readonly now: () => number,
  ) {
    this.nextSequenceNumber = log.nextSequenceNumber;
    this.nextOffset = log.nextOffset;
    this.lastEnqueuedTimeMs = log.lastEnqueuedTimeMs;
  }

  get id(): string {
    return this.log.partitionId;
  }

  /**
   * Stores a batch of events atomically: consecutive sequence numbers, one enqueued time.
   * `done` runs once they are stored (synchronously when persistence is off).
   */
  append(incoming: IncomingEvent[], done: AppendCallback): void {
    // Enqueued times never go backwards, even if the wall clock does.
    const enqueuedTimeMs = Math.max(this.now(), this.lastEnqueuedTimeMs);
    const events = this.encode(incoming, enqueuedTimeMs);
    this.lastEnqueuedTimeMs = enqueuedTimeMs;
    if (!this.files) {
      this.log.append(events);
      done(undefined);
      return;
    }
    this.queue.push({ events, done });
    if (!this.flushing) this.flushing = this.flush();
  }

  /** Resolves when everything appended so far is stored. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.files?.close();
  }

  /** Deletes segment files that retention has emptied. */
  async deleteExpiredSegments(): Promise<void> {
    await this.files?.deleteBefore(this.log.firstSequenceNumber);
  }

  private encode(incoming: IncomingEvent[], enqueuedTimeMs: number): StoredEvent[] {
    const annotated: AnnotatedEvent[] = [];
    let offset = this.nextOffset;
    for (const event of incoming) {
      const encoded = new AnnotatedEvent(
        event,
        this.nextSequenceNumber + annotated.length,
        offset,
        enqueuedTimeMs,
      );
      annotated.push(encoded);
      offset += encoded.length;
    }
    // One allocation per batch; each event is a view on it.
    const block = Buffer.allocUnsafe(offset - this.nextOffset);
    const events: StoredEvent[] = [];
    let cursor = 0;
    for (let i = 0; i < annotated.length; i++) {
      const start = cursor;
      cursor = annotated[i].writeTo(block, cursor);
      events.push({
        sequenceNumber: this.nextSequenceNumber + i,
        offset: this.nextOffset + start,
        enqueuedTimeMs,
        bytes: block.subarray(start, cursor),
        deliveryAnnotationsAt: annotated[i].deliveryAnnotationsAt,
      });
    }
    this.nextSequenceNumber += events.length;
    this.nextOffset = offset;
    return events;
  }

  private async flush(): Promise<void> {
    // Let the sends that arrive in the same turn of the event loop share one fdatasync.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const events = batch.length === 1 ? batch[0].events : batch.flatMap((append) => append.events);
      let failure: Error | undefined;
      try {
        await this.files!.write(events);
      } catch (error) {
        failure = error as Error;
        this.rewindTo(events[0]);
      }
      // Only a failed write un-numbers events; once written they are published.
      if (!failure) this.log.append(events);
      for (const append of batch) append.done(failure);
      // The size cap may have released whole segments; a failed delete is retried by the sweep.
      if (!failure) await this.files!.deleteBefore(this.log.firstSequenceNumber).catch(() => undefined);
    }
    this.flushing = undefined;
  }

  /** After a failed write nothing of the batch is stored; numbering restarts at its first event. */
  private rewindTo(firstFailed: StoredEvent): void {
    // Appends queued behind the failed batch were numbered after it: fail them too.
    const queued = this.queue;
    this.queue = [];
    for (const append of queued) append.done(new Error('an earlier write to the partition failed'));
    this.nextSequenceNumber = firstFailed.sequenceNumber;
    this.nextOffset = firstFailed.offset;
  }
}
