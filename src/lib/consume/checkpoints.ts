// The Functions host's checkpoints and partition ownership, read and written where the host keeps
// them: container `azure-webjobs-eventhub` of AzureWebJobsStorage, blobs
// `<namespace>/<hub>/<consumer group>/checkpoint/<partition>` (metadata `offset`, `sequencenumber`) and
// `.../ownership/<partition>` (metadata `ownerid`), names lower-cased. BlobCheckpointStore implements
// exactly that layout (the Event Hubs extension's BlobCheckpointStoreInternal in
// Azure/azure-sdk-for-net: on start the host resumes after the checkpoint's offset, else after its
// sequence number), so this module only names the container and what "owned" means.
import type { Checkpoint, PartitionOwnership } from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import type { BlobServiceClient } from '@azure/storage-blob';

export const CHECKPOINT_CONTAINER = 'azure-webjobs-eventhub';

/**
 * The host's partitionOwnershipExpirationInterval default (2 minutes, Azure.Messaging.EventHubs
 * EventProcessorOptions): an ownership blob not renewed for that long no longer counts.
 */
export const OWNERSHIP_EXPIRATION_MS = 120_000;

/** Where one consumer group's checkpoints live. */
export interface CheckpointScope {
  fullyQualifiedNamespace: string;
  eventHubName: string;
  consumerGroup: string;
}

export function checkpointStore(service: BlobServiceClient): BlobCheckpointStore {
  return new BlobCheckpointStore(service.getContainerClient(CHECKPOINT_CONTAINER));
}

/** Each partition's checkpoint, by partition id; a missing container means no checkpoint yet. */
export async function readCheckpoints(
  store: BlobCheckpointStore,
  scope: CheckpointScope,
): Promise<Map<string, Checkpoint>> {
  try {
    const checkpoints = await store.listCheckpoints(
      scope.fullyQualifiedNamespace,
      scope.eventHubName,
      scope.consumerGroup,
    );
    return new Map(checkpoints.map((checkpoint) => [checkpoint.partitionId, checkpoint]));
  } catch (error) {
    if (isContainerMissing(error)) return new Map();
    throw error;
  }
}

/** Ownership a processor holds now: an owner id, renewed within the expiration interval. */
export async function activeOwnerships(
  store: BlobCheckpointStore,
  scope: CheckpointScope,
  nowMs: number,
  expirationMs = OWNERSHIP_EXPIRATION_MS,
): Promise<PartitionOwnership[]> {
  let ownerships: PartitionOwnership[];
  try {
    ownerships = await store.listOwnership(
      scope.fullyQualifiedNamespace,
      scope.eventHubName,
      scope.consumerGroup,
    );
  } catch (error) {
    if (isContainerMissing(error)) return [];
    throw error;
  }
  return ownerships.filter(
    (ownership) =>
      ownership.ownerId !== '' &&
      ownership.lastModifiedTimeInMs !== undefined &&
      nowMs - ownership.lastModifiedTimeInMs < expirationMs,
  );
}

/** listOwnership wraps the storage error in a plain Error that keeps only its text. */
function isContainerMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ContainerNotFound' || /ContainerNotFound|container does not exist/i.test(String(error));
}
