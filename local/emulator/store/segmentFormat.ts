// The on-disk format of a segment file, and the verification of every record read back:
//
//   segment file  = header (32 bytes: "EHEMSEG1", base sequence number, base offset, CRC) + records
//   record        = length (u32) + CRC-32 (u32) + sequence number, offset, enqueued time (3 x f64)
//                   + delivery-annotations position (u32) + the event's encoded bytes
//
// A segment is named after its base sequence number (20 digits, `.seg`). Reading stops at the
// first record that does not check out (length, CRC, consecutive sequence numbers and offsets) and
// reports whether a valid record lies beyond it: a torn write holds none.
import { crc32 } from './crc32';
import { type Position } from './highWaterMark';
import { type StoredEvent } from './partitionLog';

const MAGIC = Buffer.from('EHEMSEG1', 'ascii');
export const FILE_HEADER_SIZE = 32;
const RECORD_HEADER_SIZE = 36;
/** Bytes of a record header that the CRC and the length field cover. */
const RECORD_META_SIZE = RECORD_HEADER_SIZE - 8;
export const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentFileName(baseSequenceNumber: number): string {
  return String(baseSequenceNumber).padStart(20, '0') + '.seg';
}

export function encodeSegmentHeader(start: Position): Buffer {
  const header = Buffer.alloc(FILE_HEADER_SIZE);
  MAGIC.copy(header, 0);
  header.writeDoubleLE(start.nextSequenceNumber, 8);
  header.writeDoubleLE(start.nextOffset, 16);
  header.writeUInt32LE(crc32(header.subarray(0, 24)), 24);
  return header;
}

export function encodeRecords(events: StoredEvent[]): Buffer {
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

export interface SegmentContents {
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

/** Decodes a segment's records up to the first one that does not check out. */
export function decodeSegment(data: Buffer, nameSequenceNumber: number): SegmentContents {
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

/** A segment file of a partition, by the base sequence number in its name. */
export interface Segment {
  baseSequenceNumber: number;
  file: string;
}
