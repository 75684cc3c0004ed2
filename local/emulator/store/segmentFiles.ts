// Durable storage of one partition: append-only segment files of framed records.
//
//   segment file  = header (32 bytes: "EHEMSEG1", base sequence number, base offset, CRC) + records
//   record        = length (u32) + CRC-32 (u32) + sequence number, offset, enqueued time (3 x f64)
//                   + delivery-annotations position (u32) + the event's encoded bytes
//   high-water-mark.json = the partition's next sequence number and offset, written atomically at
//                   every start, segment roll and clean stop
//
// Records are written with positional writes that are durable when they return (O_DSYNC: the
// write and its fdatasync in one system call, so one thread-pool round trip per flush; where the
// platform has no O_DSYNC, a write then fdatasync) before the sends they hold are acknowledged. A crash can only leave a torn write at the end of the newest
// segment: bytes after its last good record in which no valid record follows. Recovery verifies
// every record it reads (length, CRC, consecutive sequence numbers and offsets, segments that
// continue each other) and cuts such a torn tail off. Any other damage (a bad record followed by
// good ones, a damaged older segment, a gap between segments, segments ending below the high-water
// mark) would make the emulator serve the wrong events or reuse sequence numbers that consumers
// may have checkpointed: the partition refuses to start with a SegmentDamageError naming the file
// and byte offset, and nothing is changed on disk. Retention deletes whole segments. A new segment
// is created (and its directory entry synced) before its first record, so even an empty newest
// segment carries the partition's next sequence number and offset across restarts.
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { type Logger } from '../logger';
import { crc32 } from './crc32';
import { type PartitionState, type StoredEvent } from './partitionLog';

const MAGIC = Buffer.from('EHEMSEG1', 'ascii');
const FILE_HEADER_SIZE = 32;
const RECORD_HEADER_SIZE = 36;
/** Bytes of a record header that the CRC and the length field cover. */
const RECORD_META_SIZE = RECORD_HEADER_SIZE - 8;
const SEGMENT_NAME = /^(\d{20})\.seg$/;
const HIGH_WATER_MARK_FILE = 'high-water-mark.json';
/** Writes to segments are synchronized I/O data integrity completions (POSIX O_DSYNC), where available. */
const DSYNC: number | undefined = constants.O_DSYNC;
const OPEN_ACTIVE = DSYNC === undefined ? 'r+' : constants.O_RDWR | DSYNC;
const CREATE_SEGMENT =
  DSYNC === undefined ? 'w+' : constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | DSYNC;

interface Segment {
  baseSequenceNumber: number;
  file: string;
}

interface Position {
  nextSequenceNumber: number;
  nextOffset: number;
}

export interface RecoveredPartition {
  events: StoredEvent[];
  state: PartitionState;
  lastOffset: number;
}

/** Damage that recovery must not repair by cutting: acknowledged events could be lost or renumbered. */
export class SegmentDamageError extends Error {
  constructor(
    readonly file: string,
    readonly byteOffset: number,
    reason: string,
    partitionDir: string,
  ) {
    super(
      `recovery: ${file} is damaged at byte ${byteOffset}: ${reason}. Acknowledged events could be lost ` +
        `or their sequence numbers reused, so the emulator does not start and nothing was changed. ` +
        `Restore the file, or move ${partitionDir} aside to start the partition empty ` +
        `(numbering restarts at 0, so checkpoints of this partition become invalid).`,
    );
    this.name = 'SegmentDamageError';
  }
}

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
    const segments: Segment[] = (await readdir(dir))
      .filter((name) => SEGMENT_NAME.test(name))
      .sort()
      .map((name) => ({ baseSequenceNumber: Number(name.slice(0, 20)), file: path.join(dir, name) }));
    const highWaterMark = await readHighWaterMark(dir);
    const recovered: RecoveredPartition = {
      events: [],
      state: { nextSequenceNumber: 0, nextOffset: 0, lastEnqueuedTimeMs: 0 },
      lastOffset: -1,
    };
    const newestIndex = segments.length - 1;
    const newestFirst: StoredEvent[][] = [];
    /** The segment read before (the next newer one): where the one being read must end. */
    let newer: { file: string; start: Position } | undefined;
    let stateKnown = false;
    let retainedBytes = 0;
    // Torn tails are cut only once the whole partition has checked out: a refusal changes nothing.
    let repair: (() => Promise<void>) | undefined;
    for (let i = newestIndex; i >= 0; i--) {
      const { file, baseSequenceNumber } = segments[i];
      const segment = await readSegment(file, baseSequenceNumber);
      const damage = segment.damage;
      if (damage) {
        // Only the newest segment is ever written to, and only its end can be torn by a crash.
        if (i !== newestIndex || damage.validRecordFollows) {
          throw new SegmentDamageError(file, damage.at, damage.reason, dir);
        }
        logger.warn(
          `recovery: ${file} ends with an incomplete write (${segment.fileBytes - damage.at} bytes after ` +
            `byte ${damage.at}: ${damage.reason}; never acknowledged); truncating`,
        );
        if (!segment.header) {
          // A crash while a new segment was being created: it holds no record.
          repair = () => rm(file);
          segments.splice(i, 1);
          newer = { file, start: { nextSequenceNumber: baseSequenceNumber, nextOffset: Number.NaN } };
          continue;
        }
        repair = () => truncate(file, damage.at);
      }
      const header = segment.header!;
      if (header.baseSequenceNumber !== baseSequenceNumber) {
        throw new SegmentDamageError(
          file,
          8,
          `its header says it starts at sequence number ${header.baseSequenceNumber}, its name says ${baseSequenceNumber}`,
          dir,
        );
      }
      const last = segment.events[segment.events.length - 1];
      const end: Position = last
        ? { nextSequenceNumber: last.sequenceNumber + 1, nextOffset: last.offset + last.bytes.length }
        : { nextSequenceNumber: header.baseSequenceNumber, nextOffset: header.baseOffset };
      if (
        newer &&
        (newer.start.nextSequenceNumber !== end.nextSequenceNumber ||
          !(Number.isNaN(newer.start.nextOffset) || newer.start.nextOffset === end.nextOffset))
      ) {
        throw new SegmentDamageError(
          file,
          segment.fileBytes,
          `it ends before sequence number ${end.nextSequenceNumber} (offset ${end.nextOffset}), but the next ` +
            `segment ${path.basename(newer.file)} starts at ${newer.start.nextSequenceNumber}` +
            (Number.isNaN(newer.start.nextOffset) ? '' : ` (offset ${newer.start.nextOffset})`),
          dir,
        );
      }
      newer = {
        file,
        start: { nextSequenceNumber: header.baseSequenceNumber, nextOffset: header.baseOffset },
      };
      if (!stateKnown) {
        stateKnown = true;
        recovered.state = { ...end, lastEnqueuedTimeMs: 0 };
      }
      if (last && recovered.lastOffset < 0) {
        recovered.lastOffset = last.offset;
        recovered.state.lastEnqueuedTimeMs = last.enqueuedTimeMs;
      }
      newestFirst.push(segment.events);
      for (const event of segment.events) retainedBytes += event.bytes.length;
      const first = segment.events[0];
      if (retainedBytes >= retention.maxBytes || (first && first.enqueuedTimeMs < retention.cutoffMs)) break;
    }
    if (!stateKnown && newer) {
      // Only a segment torn while being created existed: it names where numbering continues.
      recovered.state.nextSequenceNumber = newer.start.nextSequenceNumber;
      recovered.state.nextOffset = highWaterMark?.nextOffset ?? 0;
    }
    if (
      highWaterMark &&
      (recovered.state.nextSequenceNumber < highWaterMark.nextSequenceNumber ||
        recovered.state.nextOffset < highWaterMark.nextOffset)
    ) {
      const newest = segments[segments.length - 1];
      throw new SegmentDamageError(
        newest?.file ?? dir,
        newest ? (await readFile(newest.file)).length : 0,
        `the partition's segments end before sequence number ${recovered.state.nextSequenceNumber} ` +
          `(offset ${recovered.state.nextOffset}), but sequence numbers below ` +
          `${highWaterMark.nextSequenceNumber} (offsets below ${highWaterMark.nextOffset}) were handed out ` +
          `before (${HIGH_WATER_MARK_FILE}): a segment was truncated or deleted`,
        dir,
      );
    }
    await repair?.();
    recovered.events = newestFirst.reverse().flat();
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
    const file = path.join(this.dir, String(state.nextSequenceNumber).padStart(20, '0') + '.seg');
    const handle = await open(file, CREATE_SEGMENT);
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
    await writeHighWaterMark(this.dir, state);
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
  /** The valid records before the first damage. */
  events: StoredEvent[];
  damage?: {
    /** Byte offset of the first byte that does not check out. */
    at: number;
    reason: string;
    /** A valid record lies beyond the damage: not a torn write, whose tail holds none. */
    validRecordFollows: boolean;
  };
  fileBytes: number;
}

/** Reads a segment's records up to the first one that does not check out. */
async function readSegment(file: string, nameSequenceNumber: number): Promise<SegmentContents> {
  const data = await readFile(file);
  const events: StoredEvent[] = [];
  const headerProblem =
    data.length < FILE_HEADER_SIZE
      ? `incomplete segment header (${data.length} of ${FILE_HEADER_SIZE} bytes)`
      : !data.subarray(0, 8).equals(MAGIC)
        ? 'not a segment header'
        : data.readUInt32LE(24) !== crc32(data.subarray(0, 24))
          ? 'segment header checksum mismatch'
          : undefined;
  if (headerProblem) {
    const validRecordFollows = findRecord(data, 0, nameSequenceNumber);
    return {
      header: undefined,
      events,
      damage: { at: 0, reason: headerProblem, validRecordFollows },
      fileBytes: data.length,
    };
  }
  const header = { baseSequenceNumber: data.readDoubleLE(8), baseOffset: data.readDoubleLE(16) };
  let expectedSequenceNumber = header.baseSequenceNumber;
  let expectedOffset = header.baseOffset;
  let pos = FILE_HEADER_SIZE;
  while (pos < data.length) {
    const problem = recordProblem(data, pos, expectedSequenceNumber, expectedOffset);
    if (problem) {
      const validRecordFollows = findRecord(data, pos + 1, expectedSequenceNumber);
      return {
        header,
        events,
        damage: { at: pos, reason: problem, validRecordFollows },
        fileBytes: data.length,
      };
    }
    const end = pos + 8 + data.readUInt32LE(pos);
    events.push({
      sequenceNumber: expectedSequenceNumber,
      offset: expectedOffset,
      enqueuedTimeMs: data.readDoubleLE(pos + 24),
      deliveryAnnotationsAt: data.readUInt32LE(pos + 32),
      bytes: data.subarray(pos + RECORD_HEADER_SIZE, end),
    });
    expectedSequenceNumber++;
    expectedOffset += end - pos - RECORD_HEADER_SIZE;
    pos = end;
  }
  return { header, events, fileBytes: data.length };
}

/** Why the record at `pos` is not the expected next one, or undefined when it checks out. */
function recordProblem(
  data: Buffer,
  pos: number,
  expectedSequenceNumber: number,
  expectedOffset: number,
): string | undefined {
  if (pos + RECORD_HEADER_SIZE > data.length) {
    return `incomplete record header (${data.length - pos} of ${RECORD_HEADER_SIZE} bytes)`;
  }
  const length = data.readUInt32LE(pos);
  if (length < RECORD_META_SIZE) return `record length ${length} is too small`;
  if (pos + 8 + length > data.length) {
    return `incomplete record (${data.length - pos - 8} of ${length} bytes)`;
  }
  if (data.readUInt32LE(pos + 4) !== crc32(data.subarray(pos + 8, pos + 8 + length))) {
    return 'record checksum mismatch';
  }
  const sequenceNumber = data.readDoubleLE(pos + 8);
  if (sequenceNumber !== expectedSequenceNumber) {
    return `record holds sequence number ${sequenceNumber} where ${expectedSequenceNumber} was expected`;
  }
  const offset = data.readDoubleLE(pos + 16);
  if (offset !== expectedOffset) return `record holds offset ${offset} where ${expectedOffset} was expected`;
  return undefined;
}

/**
 * Whether a checksummed record with a sequence number of at least `minSequenceNumber` starts
 * anywhere at or after `from`. A torn write holds none (its one record runs past the end of the
 * file); a damaged record in the middle of a segment is followed by good ones.
 */
function findRecord(data: Buffer, from: number, minSequenceNumber: number): boolean {
  for (let pos = from; pos + RECORD_HEADER_SIZE <= data.length; pos++) {
    const length = data.readUInt32LE(pos);
    if (length < RECORD_META_SIZE || pos + 8 + length > data.length) continue;
    const sequenceNumber = data.readDoubleLE(pos + 8);
    if (!Number.isInteger(sequenceNumber) || sequenceNumber < minSequenceNumber) continue;
    if (data.readUInt32LE(pos + 4) === crc32(data.subarray(pos + 8, pos + 8 + length))) return true;
  }
  return false;
}

async function readHighWaterMark(dir: string): Promise<Position | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, HIGH_WATER_MARK_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // a new partition
    throw error;
  }
  let mark: Partial<Position> | undefined;
  try {
    mark = JSON.parse(text) as Partial<Position>;
  } catch {
    // reported below
  }
  if (typeof mark?.nextSequenceNumber !== 'number' || typeof mark.nextOffset !== 'number') {
    throw new Error(
      `recovery: ${path.join(dir, HIGH_WATER_MARK_FILE)} is damaged (${JSON.stringify(text.slice(0, 100))}); ` +
        `delete it to start without the check that no stored event was lost`,
    );
  }
  return { nextSequenceNumber: mark.nextSequenceNumber, nextOffset: mark.nextOffset };
}

/** Replaces the high-water mark atomically (write, sync, rename, sync the directory). */
async function writeHighWaterMark(dir: string, position: Position): Promise<void> {
  const file = path.join(dir, HIGH_WATER_MARK_FILE);
  const handle = await open(`${file}.tmp`, 'w');
  try {
    const { nextSequenceNumber, nextOffset } = position;
    await handle.writeFile(JSON.stringify({ nextSequenceNumber, nextOffset }) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${file}.tmp`, file);
  syncDirectory(dir);
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
