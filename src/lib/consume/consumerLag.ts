// How far the consumer group is behind, per partition: the partition's last enqueued sequence number
// against the host's checkpoint. lagEvents counts the retained events after the checkpoint (all retained
// events when there is none: the app's host.json starts a new consumer group fromStart); lagSeconds is
// how long the oldest of them has been waiting. Used by the consumerLag timer function and by
// `npm run checkpoints -- show`.
import type { Checkpoint, PartitionProperties } from '@azure/event-hubs';

export interface PartitionLag {
  partitionId: string;
  lagEvents: number;
  /** Seconds since the oldest unprocessed event was enqueued; 0 without lag; null when it could not be read. */
  lagSeconds: number | null;
  checkpointSequenceNumber: number | null;
  checkpointOffset: string | null;
  /** -1 for a partition that never held an event. */
  lastEnqueuedSequenceNumber: number;
  lastEnqueuedTimeUtc: string | null;
  /** The next event the consumer will get (null without lag). */
  nextSequenceNumber: number | null;
}

/** Everything but lagSeconds, which needs the next event's enqueued time. */
export function partitionLag(
  partition: PartitionProperties,
  checkpoint: Pick<Checkpoint, 'sequenceNumber' | 'offset'> | undefined,
): Omit<PartitionLag, 'lagSeconds'> {
  const last = partition.lastEnqueuedSequenceNumber;
  // A checkpoint older than retention: the events in between are gone, the consumer resumes at the oldest.
  const next = Math.max((checkpoint?.sequenceNumber ?? -1) + 1, partition.beginningSequenceNumber);
  const lagEvents = partition.isEmpty ? 0 : Math.max(0, last - next + 1);
  return {
    partitionId: partition.partitionId,
    lagEvents,
    checkpointSequenceNumber: checkpoint?.sequenceNumber ?? null,
    checkpointOffset: checkpoint?.offset ?? null,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedTimeUtc: partition.isEmpty ? null : partition.lastEnqueuedOnUtc.toISOString(),
    nextSequenceNumber: lagEvents > 0 ? next : null,
  };
}

export interface LagSources {
  partitions(): Promise<PartitionProperties[]>;
  checkpoints(): Promise<Map<string, Pick<Checkpoint, 'sequenceNumber' | 'offset'>>>;
  /** When the event with this sequence number was enqueued; null when it is not in the hub. */
  enqueuedTime(partitionId: string, sequenceNumber: number): Promise<Date | null>;
}

export async function measureConsumerLag(sources: LagSources, now: () => number): Promise<PartitionLag[]> {
  const [partitions, checkpoints] = await Promise.all([sources.partitions(), sources.checkpoints()]);
  return Promise.all(
    partitions.map(async (partition): Promise<PartitionLag> => {
      const lag = partitionLag(partition, checkpoints.get(partition.partitionId));
      if (lag.nextSequenceNumber === null) return { ...lag, lagSeconds: 0 };
      const enqueued = await sources
        .enqueuedTime(partition.partitionId, lag.nextSequenceNumber)
        .catch(() => null);
      const lagSeconds = enqueued === null ? null : Math.max(0, (now() - enqueued.getTime()) / 1000);
      return { ...lag, lagSeconds: lagSeconds === null ? null : Math.round(lagSeconds * 1000) / 1000 };
    }),
  );
}
