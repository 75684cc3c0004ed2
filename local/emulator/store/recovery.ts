// Recovery of one partition's segments at start. A crash can only leave a torn write at the end of
// the newest segment: bytes after its last good record in which no valid record follows; recovery
// cuts such a torn tail off. Any other damage (a bad record followed by good ones, a damaged older
// segment, a gap between segments, segments ending below the high-water mark) would make the
// emulator serve the wrong events or reuse sequence numbers that consumers may have checkpointed:
// the partition refuses to start with a SegmentDamageError naming the file and byte offset, and
// nothing is changed on disk (the cut runs only once the whole partition has checked out).
import { readdir, readFile, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { type Logger } from '../logger';
import { HIGH_WATER_MARK_FILE, type Position, readHighWaterMark } from './highWaterMark';
import { type PartitionState, type StoredEvent } from './partitionLog';
import { SegmentDamageError } from './segmentDamage';
import { decodeSegment, type Segment, SEGMENT_NAME, type SegmentContents } from './segmentFormat';

export interface RecoveredPartition {
  events: StoredEvent[];
  state: PartitionState;
  lastOffset: number;
}

export interface Retention {
  maxBytes: number;
  cutoffMs: number;
}

/** The partition's segment files, oldest first. */
export async function listSegments(dir: string): Promise<Segment[]> {
  return (await readdir(dir))
    .filter((name) => SEGMENT_NAME.test(name))
    .sort()
    .map((name) => ({ baseSequenceNumber: Number(name.slice(0, 20)), file: path.join(dir, name) }));
}

/**
 * Verifies and reads a partition's segments (removing from `segments` one torn while being
 * created) and returns its events with the repair to run before writing: the torn tail to cut.
 * Segments are read newest first and only as far back as retention keeps events, so a restart
 * with a smaller cap does not read, or hold, more than it will keep.
 */
export async function recoverPartition(
  dir: string,
  segments: Segment[],
  retention: Retention,
  logger: Logger,
): Promise<{ recovered: RecoveredPartition; repair: (() => Promise<void>) | undefined }> {
  const highWaterMark = await readHighWaterMark(dir);
  const scan = new NewestFirstScan(dir, segments, logger);
  await scan.run(retention);
  const recovered = scan.result(highWaterMark);
  if (
    highWaterMark &&
    (recovered.state.nextSequenceNumber < highWaterMark.nextSequenceNumber ||
      recovered.state.nextOffset < highWaterMark.nextOffset)
  ) {
    throw await belowHighWaterMark(dir, segments, recovered.state, highWaterMark);
  }
  return { recovered, repair: scan.repair };
}

async function belowHighWaterMark(
  dir: string,
  segments: Segment[],
  state: PartitionState,
  highWaterMark: Position,
): Promise<SegmentDamageError> {
  const newest = segments[segments.length - 1];
  return new SegmentDamageError(
    newest?.file ?? dir,
    newest ? (await readFile(newest.file)).length : 0,
    `the partition's segments end before sequence number ${state.nextSequenceNumber} ` +
      `(offset ${state.nextOffset}), but sequence numbers below ` +
      `${highWaterMark.nextSequenceNumber} (offsets below ${highWaterMark.nextOffset}) were handed out ` +
      `before (${HIGH_WATER_MARK_FILE}): a segment was truncated or deleted`,
    dir,
  );
}

interface VerifiedSegment {
  events: StoredEvent[];
  /** Where the segment's records end: where the next record after them goes. */
  end: Position;
}

/** Reads segments from the newest back, checking that each one ends where the newer one starts. */
class NewestFirstScan {
  /** Torn tails are cut only once the whole partition has checked out: a refusal changes nothing. */
  repair: (() => Promise<void>) | undefined;
  private readonly newestFirst: StoredEvent[][] = [];
  /** The segment read before (the next newer one): where the one being read must end. */
  private newer: { file: string; start: Position } | undefined;
  private stateKnown = false;
  private readonly recovered: RecoveredPartition = {
    events: [],
    state: { nextSequenceNumber: 0, nextOffset: 0, lastEnqueuedTimeMs: 0 },
    lastOffset: -1,
  };

  constructor(
    private readonly dir: string,
    private readonly segments: Segment[],
    private readonly logger: Logger,
  ) {}

  async run(retention: Retention): Promise<void> {
    const newestIndex = this.segments.length - 1;
    let retainedBytes = 0;
    for (let i = newestIndex; i >= 0; i--) {
      const segment = await this.verify(i, i === newestIndex);
      if (!segment) continue;
      this.accept(segment);
      for (const event of segment.events) retainedBytes += event.bytes.length;
      const first = segment.events[0];
      if (retainedBytes >= retention.maxBytes || (first && first.enqueuedTimeMs < retention.cutoffMs)) break;
    }
  }

  result(highWaterMark: Position | undefined): RecoveredPartition {
    if (!this.stateKnown && this.newer) {
      // Only a segment torn while being created existed: it names where numbering continues.
      this.recovered.state.nextSequenceNumber = this.newer.start.nextSequenceNumber;
      this.recovered.state.nextOffset = highWaterMark?.nextOffset ?? 0;
    }
    this.recovered.events = this.newestFirst.slice().reverse().flat();
    return this.recovered;
  }

  /** The segment's records, or undefined for a segment torn while being created (to be removed). */
  private async verify(i: number, isNewest: boolean): Promise<VerifiedSegment | undefined> {
    const { file, baseSequenceNumber } = this.segments[i];
    const segment = decodeSegment(await readFile(file), baseSequenceNumber);
    if (segment.damage && !this.acceptTornTail(i, isNewest, segment)) return undefined;
    const header = segment.header!;
    if (header.baseSequenceNumber !== baseSequenceNumber) {
      throw new SegmentDamageError(
        file,
        8,
        `its header says it starts at sequence number ${header.baseSequenceNumber}, its name says ${baseSequenceNumber}`,
        this.dir,
      );
    }
    const last = segment.events[segment.events.length - 1];
    const end: Position = last
      ? { nextSequenceNumber: last.sequenceNumber + 1, nextOffset: last.offset + last.bytes.length }
      : { nextSequenceNumber: header.baseSequenceNumber, nextOffset: header.baseOffset };
    this.checkContinuedByNewer(file, segment.fileBytes, end);
    this.newer = {
      file,
      start: { nextSequenceNumber: header.baseSequenceNumber, nextOffset: header.baseOffset },
    };
    return { events: segment.events, end };
  }

  /**
   * Accepts damage that a crash leaves (a torn tail of the newest segment) by planning its repair,
   * or refuses to start. False when the segment holds no record at all (torn while being created).
   */
  private acceptTornTail(i: number, isNewest: boolean, segment: SegmentContents): boolean {
    const { file, baseSequenceNumber } = this.segments[i];
    const damage = segment.damage!;
    // Only the newest segment is ever written to, and only its end can be torn by a crash.
    if (!isNewest || damage.validRecordFollows) {
      throw new SegmentDamageError(file, damage.at, damage.reason, this.dir);
    }
    this.logger.warn(
      `recovery: ${file} ends with an incomplete write (${segment.fileBytes - damage.at} bytes after ` +
        `byte ${damage.at}: ${damage.reason}; never acknowledged); truncating`,
    );
    if (!segment.header) {
      this.repair = () => rm(file);
      this.segments.splice(i, 1);
      this.newer = { file, start: { nextSequenceNumber: baseSequenceNumber, nextOffset: Number.NaN } };
      return false;
    }
    this.repair = () => truncate(file, damage.at);
    return true;
  }

  private checkContinuedByNewer(file: string, fileBytes: number, end: Position): void {
    const newer = this.newer;
    if (
      newer &&
      (newer.start.nextSequenceNumber !== end.nextSequenceNumber ||
        !(Number.isNaN(newer.start.nextOffset) || newer.start.nextOffset === end.nextOffset))
    ) {
      throw new SegmentDamageError(
        file,
        fileBytes,
        `it ends before sequence number ${end.nextSequenceNumber} (offset ${end.nextOffset}), but the next ` +
          `segment ${path.basename(newer.file)} starts at ${newer.start.nextSequenceNumber}` +
          (Number.isNaN(newer.start.nextOffset) ? '' : ` (offset ${newer.start.nextOffset})`),
        this.dir,
      );
    }
  }

  private accept({ events, end }: VerifiedSegment): void {
    const last = events[events.length - 1];
    if (!this.stateKnown) {
      this.stateKnown = true;
      this.recovered.state = { ...end, lastEnqueuedTimeMs: 0 };
    }
    if (last && this.recovered.lastOffset < 0) {
      this.recovered.lastOffset = last.offset;
      this.recovered.state.lastEnqueuedTimeMs = last.enqueuedTimeMs;
    }
    this.newestFirst.push(events);
  }
}
