// Events in and processed per second per partition, for the page's chart. "In" is how far each
// partition's last enqueued sequence number moved since the previous sample (the management poll);
// "processed" counts the consumer's EventProcessed and EventFailed lines that named the partition.
// Both are rates over the sample's interval (about a second; a slow poll makes it longer).
import type { LogEntry, MetricsSample, PartitionView } from './api';

const PROCESSED_KINDS = new Set(['EventProcessed', 'EventFailed']);

export class Metrics {
  private readonly capacity: number;
  private readonly samples: MetricsSample[] = [];
  private lastSequence = new Map<string, number>();
  private processed = new Map<string, number>();
  private intervalStart: number | undefined;

  constructor(capacity = 120) {
    this.capacity = capacity;
  }

  countLogEntry(entry: LogEntry): void {
    if (!PROCESSED_KINDS.has(entry.kind)) return;
    const partitionId = entry.fields.partitionId;
    if (typeof partitionId !== 'string') return;
    this.processed.set(partitionId, (this.processed.get(partitionId) ?? 0) + 1);
  }

  /** Closes the current interval with the partitions' state at its end; returns the sample. */
  sample(partitions: PartitionView[], now = new Date()): MetricsSample {
    const seconds = Math.max(0.001, (now.getTime() - (this.intervalStart ?? now.getTime() - 1000)) / 1000);
    this.intervalStart = now.getTime();
    const rate = (count: number) => Math.round((count / seconds) * 10) / 10;
    const sample: MetricsSample = { time: now.toISOString(), partitions: {} };
    for (const partition of partitions) {
      const previous = this.lastSequence.get(partition.partitionId);
      const current = partition.isEmpty ? -1 : partition.lastEnqueuedSequenceNumber;
      sample.partitions[partition.partitionId] = {
        in: previous === undefined ? 0 : rate(Math.max(0, current - previous)),
        processed: rate(this.processed.get(partition.partitionId) ?? 0),
      };
      this.lastSequence.set(partition.partitionId, current);
    }
    this.processed = new Map();
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    return sample;
  }

  history(): MetricsSample[] {
    return [...this.samples];
  }
}
