// Durable storage of one partition: append-only segment files of framed records (the format:
// segmentFormat.ts), recovered at open (recovery.ts), with the partition's high-water mark
// (highWaterMark.ts) written at every start, segment roll and clean stop.
//
// Records are written with positional writes that are durable when they return (O_DSYNC: the
// write and its fdatasync in one system call, so one thread-pool round trip per flush; where the
// platform has no O_DSYNC, a write then fdatasync) before the sends they hold are acknowledged, so
// a crash can only leave a torn write at the end of the newest segment. Retention deletes whole
// segments. A new segment is created (and its directory entry synced) before its first record, so
// even an empty newest segment carries the partition's next sequence number and offset across
// restarts.
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Logger } from '../logger';
import { syncDirectory } from './directorySync';
import { type Position, writeHighWaterMark } from './highWaterMark';
import { type PartitionState, type StoredEvent } from './partitionLog';
import { listSegments, type RecoveredPartition, recoverPartition, type Retention } from './recovery';
import {
  encodeRecords,
  encodeSegmentHeader,
  FILE_HEADER_SIZE,
  type Segment,
  segmentFileName,
} from './segmentFormat';

/** Writes to segments are synchronized I/O data integrity completions (POSIX O_DSYNC), where available. */
const DSYNC: number | undefined = constants.O_DSYNC;
const OPEN_ACTIVE = DSYNC === undefined ? 'r+' : constants.O_RDWR | DSYNC;
const CREATE_SEGMENT =
  DSYNC === undefined ? 'w+' : constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | DSYNC;

export class SegmentFiles {
  private active!: FileHandle;
  private activeSize = 0;
  /** Where the next record goes: what the high-water mark records at a clean stop. */
  private next: Position;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
    start: Position,
  ) {
    this.next = { nextSequenceNumber: start.nextSequenceNumber, nextOffset: start.nextOffset };
  }

  /**
   * Opens (creating if needed) the partition directory and recovers its events, as far back as
   * retention keeps them (`maxBytes`, `cutoffMs`).
   */
  static async open(
    dir: string,
    segmentBytes: number,
    retention: Retention,
    logger: Logger,
  ): Promise<{ files: SegmentFiles; recovered: RecoveredPartition }> {
    await mkdir(dir, { recursive: true });
    const segments = await listSegments(dir);
    const { recovered, repair } = await recoverPartition(dir, segments, retention, logger);
    await repair?.();
    const files = new SegmentFiles(dir, segmentBytes, segments, recovered.state);
    await files.openActive(recovered.state);
    await writeHighWaterMark(dir, recovered.state);
    return { files, recovered };
  }

  /** Appends records and waits until they are on disk. */
  async write(events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.activeSize >= this.segmentBytes) {
      await this.roll({
        nextSequenceNumber: events[0].sequenceNumber,
        nextOffset: events[0].offset,
        lastEnqueuedTimeMs: 0,
      });
    }
    const buffer = encodeRecords(events);
    const position = this.activeSize;
    try {
      let written = 0;
      while (written < buffer.length) {
        const { bytesWritten } = await this.active.write(
          buffer,
          written,
          buffer.length - written,
          position + written,
        );
        written += bytesWritten;
      }
      if (DSYNC === undefined) await this.active.datasync();
    } catch (error) {
      // Leave no partial record behind: the sends in it are reported as failed.
      await this.active.truncate(position).catch(() => undefined);
      throw error;
    }
    this.activeSize = position + buffer.length;
    const last = events[events.length - 1];
    this.next = { nextSequenceNumber: last.sequenceNumber + 1, nextOffset: last.offset + last.bytes.length };
  }

  /** Deletes segments whose records all precede `firstRetainedSequenceNumber` (never the newest). */
  async deleteBefore(firstRetainedSequenceNumber: number): Promise<number> {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[1].baseSequenceNumber <= firstRetainedSequenceNumber) {
      const [oldest] = this.segments.splice(0, 1);
      await rm(oldest.file, { force: true });
      deleted++;
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (!this.active) return;
    await this.active.close();
    await writeHighWaterMark(this.dir, this.next);
  }

  private async openActive(state: PartitionState): Promise<void> {
    const newest = this.segments[this.segments.length - 1];
    if (!newest) return this.roll(state);
    this.active = await open(newest.file, OPEN_ACTIVE);
    this.activeSize = (await this.active.stat()).size;
  }

  private async roll(state: PartitionState): Promise<void> {
    const file = path.join(this.dir, segmentFileName(state.nextSequenceNumber));
    const handle = await open(file, CREATE_SEGMENT);
    const header = encodeSegmentHeader(state);
    await handle.write(header, 0, header.length, 0);
    await handle.sync();
    await syncDirectory(this.dir);
    await this.active?.close();
    this.active = handle;
    this.activeSize = FILE_HEADER_SIZE;
    this.segments.push({ baseSequenceNumber: state.nextSequenceNumber, file });
    await writeHighWaterMark(this.dir, state);
  }
}
