// Just enough of the AMQP 1.0 type system to work on encoded messages without decoding them:
// find the sections of a message, walk a map's entries, and encode the few annotation values the
// service adds (symbol keys; long, string and timestamp values). Events are stored and delivered as
// bytes, so the emulator never re-encodes a user's properties or body.

export const SectionCode = {
  header: 0x70,
  deliveryAnnotations: 0x71,
  messageAnnotations: 0x72,
  properties: 0x73,
  applicationProperties: 0x74,
  data: 0x75,
  amqpSequence: 0x76,
  amqpValue: 0x77,
  footer: 0x78,
} as const;

const SYMBOLIC_SECTION_CODES: Record<string, number> = {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:amqp-value:*': 0x77,
  'amqp:footer:map': 0x78,
};

export class AmqpFormatError extends Error {
  override name = 'AmqpFormatError';
}

export interface Section {
  code: number;
  /** First byte of the section (the 0x00 described-type marker). */
  start: number;
  /** First byte of the section's value (after the descriptor). */
  valueStart: number;
  /** One past the last byte. */
  end: number;
}

/** Returns the position just after the encoded value that starts at `pos`. */
export function skipValue(buf: Buffer, pos: number): number {
  if (pos >= buf.length) throw new AmqpFormatError(`truncated value at ${pos}`);
  const code = buf[pos];
  if (code === 0x00) return skipValue(buf, skipValue(buf, pos + 1));
  let end: number;
  switch (code >> 4) {
    case 0x4:
      end = pos + 1;
      break;
    case 0x5:
      end = pos + 2;
      break;
    case 0x6:
      end = pos + 3;
      break;
    case 0x7:
      end = pos + 5;
      break;
    case 0x8:
      end = pos + 9;
      break;
    case 0x9:
      end = pos + 17;
      break;
    case 0xa:
    case 0xc:
    case 0xe:
      need(buf, pos + 2);
      end = pos + 2 + buf[pos + 1];
      break;
    case 0xb:
    case 0xd:
    case 0xf:
      need(buf, pos + 5);
      end = pos + 5 + buf.readUInt32BE(pos + 1);
      break;
    default:
      throw new AmqpFormatError(`unknown type constructor 0x${code.toString(16)} at ${pos}`);
  }
  need(buf, end);
  return end;
}

function need(buf: Buffer, end: number) {
  if (end > buf.length) throw new AmqpFormatError(`truncated value: need ${end} bytes, have ${buf.length}`);
}

/** Splits an encoded message into its sections. */
export function readSections(buf: Buffer): Section[] {
  const sections: Section[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== 0x00) throw new AmqpFormatError(`expected a described section at ${pos}`);
    const valueStart = skipValue(buf, pos + 1);
    const code = descriptorCode(buf, pos + 1);
    const end = skipValue(buf, valueStart);
    sections.push({ code, start: pos, valueStart, end });
    pos = end;
  }
  return sections;
}

function descriptorCode(buf: Buffer, pos: number): number {
  const constructor = buf[pos];
  if (constructor === 0x53) return buf[pos + 1];
  if (constructor === 0x80) return buf.readUInt32BE(pos + 5) + buf.readUInt32BE(pos + 1) * 2 ** 32;
  if (constructor === 0x44) return 0;
  if (constructor === 0xa3 || constructor === 0xb3) {
    const symbol = readString(buf, pos) ?? '';
    const code = SYMBOLIC_SECTION_CODES[symbol];
    if (code !== undefined) return code;
  }
  throw new AmqpFormatError(`unsupported section descriptor at ${pos}`);
}

/** The bytes of a binary (vbin8/vbin32) value, as a view on `buf`. */
export function readBinary(buf: Buffer, pos: number): Buffer {
  const code = buf[pos];
  if (code === 0xa0) return buf.subarray(pos + 2, pos + 2 + buf[pos + 1]);
  if (code === 0xb0) return buf.subarray(pos + 5, pos + 5 + buf.readUInt32BE(pos + 1));
  throw new AmqpFormatError(`expected binary at ${pos}, found 0x${code.toString(16)}`);
}

/** A string or symbol value as text; undefined for other types. */
export function readString(buf: Buffer, pos: number): string | undefined {
  const code = buf[pos];
  if (code === 0xa1 || code === 0xa3) return buf.toString('utf8', pos + 2, pos + 2 + buf[pos + 1]);
  if (code === 0xb1 || code === 0xb3)
    return buf.toString('utf8', pos + 5, pos + 5 + buf.readUInt32BE(pos + 1));
  return undefined;
}

/** An integer value of any AMQP integer type; undefined for other types. */
export function readInteger(buf: Buffer, pos: number): number | undefined {
  switch (buf[pos]) {
    case 0x43: // uint0
    case 0x44: // ulong0
      return 0;
    case 0x50: // ubyte
    case 0x52: // smalluint
    case 0x53: // smallulong
      return buf[pos + 1];
    case 0x51: // byte
    case 0x54: // smallint
    case 0x55: // smalllong
      return buf.readInt8(pos + 1);
    case 0x60:
      return buf.readUInt16BE(pos + 1);
    case 0x61:
      return buf.readInt16BE(pos + 1);
    case 0x70:
      return buf.readUInt32BE(pos + 1);
    case 0x71:
      return buf.readInt32BE(pos + 1);
    case 0x80:
      return Number(buf.readBigUInt64BE(pos + 1));
    case 0x81:
      return Number(buf.readBigInt64BE(pos + 1));
    default:
      return undefined;
  }
}

export interface MapEntry {
  key: string | undefined;
  keyStart: number;
  valueStart: number;
  end: number;
}

/** The entries of the map value at `pos` (map8 or map32), with positions into `buf`. */
export function readMapEntries(buf: Buffer, pos: number): MapEntry[] {
  const code = buf[pos];
  let count: number;
  let cursor: number;
  let mapEnd: number;
  // Size and count come from the peer: check them against the buffer before trusting them.
  if (code === 0xc1) {
    need(buf, pos + 3);
    mapEnd = pos + 2 + buf[pos + 1];
    count = buf[pos + 2];
    cursor = pos + 3;
  } else if (code === 0xd1) {
    need(buf, pos + 9);
    mapEnd = pos + 5 + buf.readUInt32BE(pos + 1);
    count = buf.readUInt32BE(pos + 5);
    cursor = pos + 9;
  } else {
    throw new AmqpFormatError(`expected a map at ${pos}, found 0x${code?.toString(16)}`);
  }
  need(buf, mapEnd);
  if (count % 2 !== 0) throw new AmqpFormatError(`map at ${pos} has an odd element count ${count}`);
  const entries: MapEntry[] = [];
  for (let i = 0; i < count; i += 2) {
    const keyStart = cursor;
    const valueStart = skipValue(buf, keyStart);
    const end = skipValue(buf, valueStart);
    if (end > mapEnd)
      throw new AmqpFormatError(`map at ${pos} holds more than its size of ${mapEnd - pos} bytes`);
    entries.push({ key: readString(buf, keyStart), keyStart, valueStart, end });
    cursor = end;
  }
  return entries;
}

// --- encoders ------------------------------------------------------------------------------------

export function encodeSymbol(symbol: string): Buffer {
  const bytes = Buffer.from(symbol, 'ascii');
  if (bytes.length <= 255) return Buffer.concat([Buffer.from([0xa3, bytes.length]), bytes]);
  const head = Buffer.alloc(5);
  head[0] = 0xb3;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

export function encodeString(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  if (length <= 255) {
    const out = Buffer.allocUnsafe(2 + length);
    out[0] = 0xa1;
    out[1] = length;
    out.write(text, 2, 'utf8');
    return out;
  }
  const out = Buffer.allocUnsafe(5 + length);
  out[0] = 0xb1;
  out.writeUInt32BE(length, 1);
  out.write(text, 5, 'utf8');
  return out;
}

/** A long (0x81) or timestamp (0x83): both are 64-bit signed big-endian integers. */
function encodeInt64(code: 0x81 | 0x83, value: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = code;
  out.writeBigInt64BE(BigInt(value), 1);
  return out;
}

export const encodeLong = (value: number) => encodeInt64(0x81, value);
export const encodeTimestamp = (ms: number) => encodeInt64(0x83, ms);

/**
 * A message-annotations (0x72) or delivery-annotations (0x71) section whose map holds the given
 * already-encoded key/value parts (alternating), always as map32.
 */
export function encodeAnnotationsSection(code: 0x71 | 0x72, parts: Buffer[]): Buffer {
  let size = 4; // the count field
  for (const part of parts) size += part.length;
  const head = Buffer.allocUnsafe(3 + 9);
  head[0] = 0x00;
  head[1] = 0x53;
  head[2] = code;
  head[3] = 0xd1;
  head.writeUInt32BE(size, 4);
  head.writeUInt32BE(parts.length, 8);
  return Buffer.concat([head, ...parts], head.length + size - 4);
}
