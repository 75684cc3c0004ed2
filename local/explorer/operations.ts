// Dead letters and checkpoints in the explorer, through the code of `npm run dead-letters` and
// `npm run checkpoints` (scripts/lib): the page lists, replays and deletes dead letters and reads
// the consumer group's checkpoints exactly as those commands do, with the same settings.
import { showCheckpoints } from '../../scripts/lib/checkpoints';
import {
  blobName,
  listDeadLetters,
  purgeDeadLetters,
  readDeadLetter,
  REPLAY_OF_PROPERTY,
  replayDeadLetters,
} from '../../scripts/lib/deadLetters';
import { Operations } from '../../scripts/lib/operations';
import { deadLetterBody } from '../../src/lib/consume/deadLetter';
import type { Environment } from '../../src/lib/settings';
import type { ActionResult, CheckpointView, DeadLetterView } from './api';
import { bodyView } from './eventView';

/** The page lists at most this many dead letters (the oldest partitions and sequence numbers first). */
export const MAX_DEAD_LETTERS = 200;

export class ExplorerOperations {
  private readonly ops: Operations;
  private checkpointsLoading: Promise<CheckpointView[]> | undefined;

  constructor(env: Environment) {
    this.ops = new Operations(env);
  }

  async deadLetters(): Promise<DeadLetterView[]> {
    const container = this.ops.deadLetterContainer;
    const letters = (await listDeadLetters(container, this.ops.settings)).slice(0, MAX_DEAD_LETTERS);
    const documents = await Promise.all(
      letters.map((letter) => readDeadLetter(container, blobName(container, letter.blob))),
    );
    return letters.flatMap((letter, index) => {
      const document = documents[index];
      if (document === null) return []; // replayed or deleted in between
      return [
        {
          blob: letter.blob,
          partitionId: document.partitionId,
          sequenceNumber: document.sequenceNumber,
          enqueuedTimeUtc: document.enqueuedTimeUtc,
          failedAtUtc: document.failedAtUtc,
          error: document.error,
          contentType: document.contentType,
          properties: document.properties,
          partitionKey: document.partitionKey,
          body: bodyView(deadLetterBody(document)),
        },
      ];
    });
  }

  async replay(blob: string): Promise<ActionResult> {
    const container = this.ops.deadLetterContainer;
    const [outcome] = await replayDeadLetters(container, this.ops.producer, [blobName(container, blob)]);
    if ('reason' in outcome)
      return { ok: false, message: `${outcome.blob} ${outcome.status}: ${outcome.reason}` };
    return {
      ok: true,
      message: `${outcome.blob} replayed as a new event with ${REPLAY_OF_PROPERTY} ${outcome.replayOf}; the dead letter is deleted.`,
    };
  }

  async remove(blob: string): Promise<ActionResult> {
    const container = this.ops.deadLetterContainer;
    const [deleted] = await purgeDeadLetters(container, [blobName(container, blob)]);
    return deleted
      ? { ok: true, message: `${deleted} deleted (not replayed).` }
      : { ok: false, message: `${blob}: no such dead letter (already replayed or deleted?)` };
  }

  /** One reading at a time: the readers of `npm run checkpoints` allow one receiver per partition. */
  checkpoints(): Promise<CheckpointView[]> {
    this.checkpointsLoading ??= showCheckpoints(this.ops)
      .then((partitions) =>
        partitions.map((partition) => ({
          consumerGroup: this.ops.settings.consumerGroup,
          partitionId: partition.partitionId,
          checkpointSequenceNumber: partition.checkpointSequenceNumber,
          checkpointOffset: partition.checkpointOffset,
          checkpointEnqueuedTimeUtc: partition.checkpointEnqueuedTimeUtc,
          ownerId: partition.ownerId,
          lastEnqueuedSequenceNumber: partition.lastEnqueuedSequenceNumber,
          lastEnqueuedTimeUtc: partition.lastEnqueuedTimeUtc,
          lagEvents: partition.lagEvents,
          lagSeconds: partition.lagSeconds,
        })),
      )
      .finally(() => {
        this.checkpointsLoading = undefined;
      });
    return this.checkpointsLoading;
  }

  close(): Promise<void> {
    return this.ops.close();
  }
}
