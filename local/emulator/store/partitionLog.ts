// The retained events of one partition, in memory, in sequence-number order. Retention drops the
// oldest events by age and by a byte cap, so memory stays bounded whatever the load.
import { type Logger } from '../logger';

export interface StoredEvent {
  sequenceNumber: number;
  /** Byte position of the event in the partition's stream; exposed to clients as a string. */
  offset: number;
  enqueuedTimeMs: number;
  /** The complete encoded message as delivered to consumers (annotations included). */
  bytes: Buffer;
  /** Where a delivery-annotations section is spliced in (after the header, if any). */
  deliveryAnnotationsAt: number;
}

export interface PartitionState {
  nextSequenceNumber: number;
  nextOffset: number;
  lastEnqueuedTimeMs: number;
}

export class PartitionLog {
  private events: StoredEvent[] = [];
  private head = 0;
  private retainedBytes = 0;
  private readonly listeners = new Set<() => void>();
  nextSequenceNumber: number;
  nextOffset: number;
  lastEnqueuedTimeMs: number;
  /** Offset of the last event ever enqueued (kept when retention removes it). */
  lastOffset: number;

  constructor(
    readonly hub: string,
    readonly partitionId: string,
    private readonly maxBytes: number,
    private readonly logger: Logger,
    state: PartitionState = { nextSequenceNumber: 0, nextOffset: 0, lastEnqueuedTimeMs: 0 },
    lastOffset = -1,
  ) {
    this.nextSequenceNumber = state.nextSequenceNumber;
    this.nextOffset = state.nextOffset;
    this.lastEnqueuedTimeMs = state.lastEnqueuedTimeMs;
    this.lastOffset = lastOffset;
  }

  get size(): number {
    return this.events.length - this.head;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Sequence number of the oldest retained event (== nextSequenceNumber when empty). */
  get firstSequenceNumber(): number {
    return this.isEmpty ? this.nextSequenceNumber : this.events[this.head].sequenceNumber;
  }

  /** Appends committed events (consecutive sequence numbers) and wakes up live receivers. */
  append(events: StoredEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      this.events.push(event);
      this.retainedBytes += event.bytes.length;
    }
    const last = events[events.length - 1];
    this.nextSequenceNumber = last.sequenceNumber + 1;
    this.nextOffset = last.offset + last.bytes.length;
    this.lastEnqueuedTimeMs = last.enqueuedTimeMs;
    this.lastOffset = last.offset;
    this.trimToSize();
    for (const listener of this.listeners) {
      // The events are stored whatever a receiver does with the news: a fault there is its own.
      try {
        listener();
      } catch (error) {
        this.logger.error(
          `${this.hub}/${this.partitionId}: internal error in a receiver woken by new events: ` +
            `${(error as Error).stack ?? String(error)}`,
        );
      }
    }
  }

  /** Loads recovered events without notifying anyone (startup only). */
  restore(events: StoredEvent[]): void {
    for (const event of events) {
      this.events.push(event);
      this.retainedBytes += event.bytes.length;
    }
    this.trimToSize();
  }

  get(sequenceNumber: number): StoredEvent | undefined {
    if (this.isEmpty) return undefined;
    const index = this.head + (sequenceNumber - this.events[this.head].sequenceNumber);
    return index >= this.head && index < this.events.length ? this.events[index] : undefined;
  }

  /** Sequence number of the first retained event whose offset is > (or >=) the given offset. */
  sequenceAfterOffset(offset: number, inclusive: boolean): number {
    return this.search((event) => (inclusive ? event.offset >= offset : event.offset > offset));
  }

  /** Sequence number of the first retained event enqueued after the given time. */
  sequenceAfterTime(timeMs: number): number {
    return this.search((event) => event.enqueuedTimeMs > timeMs);
  }

  /** Drops events enqueued before the cutoff. */
  trimBefore(cutoffMs: number): void {
    while (this.size > 0 && this.events[this.head].enqueuedTimeMs < cutoffMs) this.dropOldest();
    this.compact();
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private trimToSize(): void {
    // Keep at least the newest event so the partition's tail stays readable.
    while (this.retainedBytes > this.maxBytes && this.size > 1) this.dropOldest();
    this.compact();
  }

  private dropOldest(): void {
    const event = this.events[this.head];
    this.events[this.head] = undefined as unknown as StoredEvent;
    this.head++;
    this.retainedBytes -= event.bytes.length;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Binary search for the first event matching a predicate that is monotonic over the log. */
  private search(matches: (event: StoredEvent) => boolean): number {
    let low = this.head;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (matches(this.events[mid])) high = mid;
      else low = mid + 1;
    }
    return low < this.events.length ? this.events[low].sequenceNumber : this.nextSequenceNumber;
  }
}
