// Durable storage of one partition: append-only segment files of framed records.
//
//   segment file  = header (32 bytes: "EHEMSEG1", base sequence number, base offset, CRC) + records
//   record        = length (u32) + CRC-32 (u32) + sequence number, offset, enqueued time (3 x f64)
//                   + delivery-annotations position (u32) + the event's encoded bytes
//
// Records are written with positional writes and made durable with fdatasync before the sends
// they hold are acknowledged. A crash can only leave a torn record at the end of the newest
// segment; recovery verifies every record's length and CRC, and truncates the newest segment after
// its last good record. Retention deletes whole segments. A new segment is created (and its
// directory entry synced) before its first record, so even an empty newest segment carries the
// partition's next sequence number and offset across restarts.
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { FileHandle, mkdir, open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { Logger } from '../logger';
import { crc32 } from './crc32';
import { PartitionState, StoredEvent } from './partitionLog';

const MAGIC = Buffer.from('EHEMSEG1', 'ascii');
const FILE_HEADER_SIZE = 32;
const RECORD_HEADER_SIZE = 36;
/** Bytes of a record header that the CRC and the length field cover. */
const RECORD_META_SIZE = RECORD_HEADER_SIZE - 8;
const SEGMENT_SUFFIX = '.seg';

interface Segment {
  baseSequenceNumber: number;
  file: string;
}

export interface RecoveredPartition {
  events: StoredEvent[];
  state: PartitionState;
  lastOffset: number;
}

export class SegmentFiles {
  private active!: FileHandle;
  private activeSize = 0;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
  ) {}

  /**
   * Opens (creating if needed) the partition directory and recovers its events. Segments are read
   * newest first and only as far back as retention keeps events (`maxBytes`, `cutoffMs`), so a
   * restart with a smaller cap does not read, or hold, more than it will keep.
   */
  static async open(
    dir: string,
    segmentBytes: number,
    retention: { maxBytes: number; cutoffMs: number },
    logger: Logger,
  ): Promise<{ files: SegmentFiles; recovered: RecoveredPartition }> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((name) => name.endsWith(SEGMENT_SUFFIX)).sort();
    const segments: Segment[] = names.map((name) => ({
      baseSequenceNumber: Number(name.slice(0, -SEGMENT_SUFFIX.length)),
      file: path.join(dir, name),
    }));
    const recovered: RecoveredPartition = {
      events: [],
      state: { nextSequenceNumber: 0, nextOffset: 0, lastEnqueuedTimeMs: 0 },
      lastOffset: -1,
    };
    const newestFirst: StoredEvent[][] = [];
    let newestSeen = false;
    let retainedBytes = 0;
    for (let i = segments.length - 1; i >= 0; i--) {
      const file = segments[i].file;
      const segment = await readSegment(file);
      if (segment.goodBytes < segment.fileBytes) {
        if (!newestSeen) {
          // Only the newest segment is ever written to: a crash can leave a torn record there.
          logger.warn(
            `recovery: ${path.relative(process.cwd(), file)} ends with an incomplete record ` +
              `(${segment.fileBytes - segment.goodBytes} bytes, never acknowledged); truncating`,
          );
          if (!segment.header) {
            await rm(file);
            segments.splice(i, 1);
            continue;
          }
          await truncate(file, segment.goodBytes);
        } else {
          logger.error(
            `recovery: ${file} is damaged after ${segment.goodBytes} bytes; its later records are skipped`,
          );
        }
      }
      if (!segment.header) continue;
      const last = segment.events[segment.events.length - 1];
      if (!newestSeen) {
        newestSeen = true;
        recovered.state = last
          ? {
              nextSequenceNumber: last.sequenceNumber + 1,
              nextOffset: last.offset + last.bytes.length,
              lastEnqueuedTimeMs: last.enqueuedTimeMs,
            }
          : {
              nextSequenceNumber: segment.header.baseSequenceNumber,
              nextOffset: segment.header.baseOffset,
              lastEnqueuedTimeMs: 0,
            };
      }
      if (last && recovered.lastOffset < 0) {
        recovered.lastOffset = last.offset;
        recovered.state.lastEnqueuedTimeMs = Math.max(
          recovered.state.lastEnqueuedTimeMs,
          last.enqueuedTimeMs,
        );
      }
      newestFirst.push(segment.events);
      for (const event of segment.events) retainedBytes += event.bytes.length;
      const first = segment.events[0];
      if (retainedBytes >= retention.maxBytes || (first && first.enqueuedTimeMs < retention.cutoffMs)) break;
    }
    recovered.events = newestFirst.reverse().flat();
    const files = new SegmentFiles(dir, segmentBytes, segments);
    await files.openActive(recovered.state);
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
      await this.active.datasync();
    } catch (error) {
      // Leave no partial record behind: the sends in it are reported as failed.
      await this.active.truncate(position).catch(() => undefined);
      throw error;
    }
    this.activeSize = position + buffer.length;
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
    await this.active?.close();
  }

  private async openActive(state: PartitionState): Promise<void> {
    const newest = this.segments[this.segments.length - 1];
    if (!newest) return this.roll(state);
    this.active = await open(newest.file, 'r+');
    this.activeSize = (await this.active.stat()).size;
  }

  private async roll(state: PartitionState): Promise<void> {
    const file = path.join(this.dir, String(state.nextSequenceNumber).padStart(20, '0') + SEGMENT_SUFFIX);
    const handle = await open(file, 'w+');
    const header = Buffer.alloc(FILE_HEADER_SIZE);
    MAGIC.copy(header, 0);
    header.writeDoubleLE(state.nextSequenceNumber, 8);
    header.writeDoubleLE(state.nextOffset, 16);
    header.writeUInt32LE(crc32(header.subarray(0, 24)), 24);
    await handle.write(header, 0, header.length, 0);
    await handle.sync();
    syncDirectory(this.dir);
    await this.active?.close();
    this.active = handle;
    this.activeSize = FILE_HEADER_SIZE;
    this.segments.push({ baseSequenceNumber: state.nextSequenceNumber, file });
  }
}

function encodeRecords(events: StoredEvent[]): Buffer {
  let total = 0;
  for (const event of events) total += RECORD_HEADER_SIZE + event.bytes.length;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const event of events) {
    out.writeUInt32LE(RECORD_META_SIZE + event.bytes.length, pos);
    out.writeDoubleLE(event.sequenceNumber, pos + 8);
    out.writeDoubleLE(event.offset, pos + 16);
    out.writeDoubleLE(event.enqueuedTimeMs, pos + 24);
    out.writeUInt32LE(event.deliveryAnnotationsAt, pos + 32);
    event.bytes.copy(out, pos + RECORD_HEADER_SIZE);
    const crc = crc32(out.subarray(pos + 8, pos + RECORD_HEADER_SIZE + event.bytes.length));
    out.writeUInt32LE(crc, pos + 4);
    pos += RECORD_HEADER_SIZE + event.bytes.length;
  }
  return out;
}

interface SegmentContents {
  header: { baseSequenceNumber: number; baseOffset: number } | undefined;
  events: StoredEvent[];
  /** Bytes up to the end of the last valid record. */
  goodBytes: number;
  fileBytes: number;
}

/** Reads a segment's records up to the first one whose length or CRC does not check out. */
async function readSegment(file: string): Promise<SegmentContents> {
  const data = await readFile(file);
  const events: StoredEvent[] = [];
  if (
    data.length < FILE_HEADER_SIZE ||
    !data.subarray(0, 8).equals(MAGIC) ||
    data.readUInt32LE(24) !== crc32(data.subarray(0, 24))
  ) {
    return { header: undefined, events, goodBytes: 0, fileBytes: data.length };
  }
  const header = { baseSequenceNumber: data.readDoubleLE(8), baseOffset: data.readDoubleLE(16) };
  let expected = header.baseSequenceNumber;
  let pos = FILE_HEADER_SIZE;
  while (pos + RECORD_HEADER_SIZE <= data.length) {
    const length = data.readUInt32LE(pos);
    const end = pos + 8 + length;
    if (length < RECORD_META_SIZE || end > data.length) break;
    if (data.readUInt32LE(pos + 4) !== crc32(data.subarray(pos + 8, end))) break;
    const sequenceNumber = data.readDoubleLE(pos + 8);
    if (sequenceNumber !== expected) break;
    events.push({
      sequenceNumber,
      offset: data.readDoubleLE(pos + 16),
      enqueuedTimeMs: data.readDoubleLE(pos + 24),
      deliveryAnnotationsAt: data.readUInt32LE(pos + 32),
      bytes: data.subarray(pos + RECORD_HEADER_SIZE, end),
    });
    expected++;
    pos = end;
  }
  return { header, events, goodBytes: pos, fileBytes: data.length };
}

function syncDirectory(dir: string): void {
  // Makes a new segment's directory entry durable (Linux and macOS; a no-op where unsupported).
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Windows cannot open directories; NTFS journals the entry.
  }
}
