// Partition ids per producer, fetched once and refreshed when a request names an id not yet seen (a
// hub's partition count can grow), at most once a minute so bad ids cannot flood the management link.
import type { EventHubsDeadline } from './eventHubsDeadline';
import type { EventProducer } from './publisher';

const REFRESH_AFTER_MS = 60_000;
const known = new WeakMap<EventProducer, { ids: readonly string[]; fetchedAt: number }>();

/** Returns the hub's partition ids when `partitionId` is not one of them, otherwise undefined. */
export async function findUnknownPartition(
  producer: EventProducer,
  partitionId: string,
  deadline: EventHubsDeadline,
): Promise<readonly string[] | undefined> {
  const cached = known.get(producer);
  if (cached?.ids.includes(partitionId)) return undefined;
  if (cached && Date.now() - cached.fetchedAt < REFRESH_AFTER_MS) return cached.ids;
  const ids = await deadline.run((abortSignal) => producer.getPartitionIds({ abortSignal }));
  known.set(producer, { ids, fetchedAt: Date.now() });
  return ids.includes(partitionId) ? undefined : ids;
}
