// The consumer group's checkpoints, for operators: show them with the lag, and rewind them (to a time,
// the earliest retained event or the latest) in the host's own layout (src/lib/consume/checkpoints.ts), so
// that the trigger resumes there when the app starts again. A checkpoint names the last event
// processed: the host resumes after it. Rewinding to a time therefore writes the event before the
// first one enqueued after that time; `earliest` writes offset -1 and sequence number -1, the
// position before the first event, which both the host (EventPosition.FromOffset("-1")) and the
// JavaScript SDK (earliestEventPosition) read as the start of the partition.
import type { PartitionOwnership, PartitionProperties } from '@azure/event-hubs';
import {
  activeOwnerships,
  CHECKPOINT_CONTAINER,
  OWNERSHIP_EXPIRATION_MS,
  readCheckpoints,
} from '../../src/lib/consume/checkpoints';
import { measureConsumerLag, type PartitionLag } from '../../src/lib/consume/consumerLag';
import { readEvent, readEventAt, readPartitions } from '../../src/lib/consume/eventHubReader';
import type { Operations } from './operations';

export interface PartitionCheckpointView extends PartitionLag {
  /** When the checkpointed event was enqueued; null without a checkpoint or once retention dropped it. */
  checkpointEnqueuedTimeUtc: string | null;
  /** The processor that owns the partition now (renewed within the expiration interval), if any. */
  ownerId: string | null;
}

export async function showCheckpoints(ops: Operations, now = Date.now): Promise<PartitionCheckpointView[]> {
  const scope = ops.checkpointScope;
  const store = ops.checkpointStore;
  const [lags, owners] = await Promise.all([
    measureConsumerLag(
      {
        partitions: () => readPartitions(ops.reader),
        checkpoints: () => readCheckpoints(store, scope),
        enqueuedTime: async (partitionId, sequenceNumber) =>
          (await readEventAt(ops.reader, partitionId, sequenceNumber))?.enqueuedTimeUtc ?? null,
      },
      now,
    ),
    activeOwnerships(store, scope, now()),
  ]);
  return Promise.all(
    lags.map(async (lag) => {
      const checkpointed =
        lag.checkpointSequenceNumber !== null && lag.checkpointSequenceNumber >= 0
          ? await readEventAt(ops.reader, lag.partitionId, lag.checkpointSequenceNumber)
          : null;
      return {
        ...lag,
        checkpointEnqueuedTimeUtc: checkpointed?.enqueuedTimeUtc.toISOString() ?? null,
        ownerId: owners.find((owner) => owner.partitionId === lag.partitionId)?.ownerId ?? null,
      };
    }),
  );
}

export type RewindTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'time'; time: Date };

export function parseRewindTarget(text: string): RewindTarget {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  const time = /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(time.getTime())) {
    throw new RangeError(
      `--to takes an ISO 8601 time (2026-01-31T12:00:00Z), earliest or latest; got "${text}"`,
    );
  }
  return { kind: 'time', time };
}

export interface RewindPlan {
  partitionId: string;
  current: { sequenceNumber: number; offset: string } | null;
  checkpoint: { sequenceNumber: number; offset: string };
  /** The first event the trigger will get (null: none until new events arrive). */
  resumesAt: number | null;
}

const EARLIEST = { sequenceNumber: -1, offset: '-1' };

export async function planRewind(
  ops: Operations,
  target: RewindTarget,
  partitionId?: string,
): Promise<RewindPlan[]> {
  const partitions = (await readPartitions(ops.reader)).filter(
    (partition) => partitionId === undefined || partition.partitionId === partitionId,
  );
  if (partitions.length === 0) throw new RangeError(`The event hub has no partition "${partitionId}"`);
  const current = await readCheckpoints(ops.checkpointStore, ops.checkpointScope);
  return Promise.all(
    partitions.map(async (partition) => {
      const checkpoint = current.get(partition.partitionId);
      return {
        partitionId: partition.partitionId,
        current: checkpoint ? { sequenceNumber: checkpoint.sequenceNumber, offset: checkpoint.offset } : null,
        ...(await targetCheckpoint(ops, partition, target)),
      };
    }),
  );
}

async function targetCheckpoint(
  ops: Operations,
  partition: PartitionProperties,
  target: RewindTarget,
): Promise<Pick<RewindPlan, 'checkpoint' | 'resumesAt'>> {
  const latest = {
    checkpoint: partition.isEmpty
      ? EARLIEST
      : { sequenceNumber: partition.lastEnqueuedSequenceNumber, offset: partition.lastEnqueuedOffset },
    resumesAt: null,
  };
  if (partition.isEmpty || target.kind === 'latest') return latest;
  if (target.kind === 'earliest')
    return { checkpoint: EARLIEST, resumesAt: partition.beginningSequenceNumber };
  if (target.time.getTime() >= partition.lastEnqueuedOnUtc.getTime()) return latest;
  // Event Hubs' enqueued-time filter is "enqueued after": the first event after the given time.
  const first = await readEvent(ops.reader, partition.partitionId, { enqueuedOn: target.time });
  if (first === null) return latest;
  const previous =
    first.sequenceNumber > partition.beginningSequenceNumber
      ? await readEventAt(ops.reader, partition.partitionId, first.sequenceNumber - 1)
      : null;
  return {
    checkpoint: previous ? { sequenceNumber: previous.sequenceNumber, offset: previous.offset } : EARLIEST,
    resumesAt: first.sequenceNumber,
  };
}

export class PartitionsOwnedError extends Error {
  override readonly name = 'PartitionsOwnedError';
  constructor(readonly owners: PartitionOwnership[]) {
    const list = owners.map((owner) => `${owner.partitionId} (owner ${owner.ownerId})`).join(', ');
    super(
      `A Functions host is running on this consumer group: it owns partition(s) ${list}. A running host keeps ` +
        'reading from where it is and overwrites the checkpoint with its next batch. Stop the app first: locally, ' +
        'Ctrl-C in the terminal running `npm start`; in Azure, `az functionapp stop -g <resource group> -n <function app>` ' +
        '(start it again with `az functionapp start` after the rewind). A host that stops gives its partitions up at ' +
        `once; one that crashed holds them until its ownership expires, ${OWNERSHIP_EXPIRATION_MS / 60_000} minutes ` +
        'after its last renewal. Then run the rewind again, or add --force to write the checkpoints anyway.',
    );
  }
}

/** Writes the planned checkpoints; refuses while a host owns any of those partitions, unless forced. */
export async function applyRewind(
  ops: Operations,
  plans: readonly RewindPlan[],
  options: { force?: boolean; now?: number } = {},
): Promise<void> {
  const scope = ops.checkpointScope;
  const store = ops.checkpointStore;
  const owned = (await activeOwnerships(store, scope, options.now ?? Date.now())).filter((ownership) =>
    plans.some((plan) => plan.partitionId === ownership.partitionId),
  );
  if (owned.length > 0 && !options.force) throw new PartitionsOwnedError(owned);
  await ops.blobService.getContainerClient(CHECKPOINT_CONTAINER).createIfNotExists();
  for (const plan of plans) {
    await store.updateCheckpoint({ ...scope, partitionId: plan.partitionId, ...plan.checkpoint });
  }
}
