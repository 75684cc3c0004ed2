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

/**
 * Lists, maps, arrays and described values nested deeper than this are refused. Decoders that
 * recurse per level (rhea's does) overflow the stack on a few hundred thousand levels; real
 * messages and performatives nest a handful.
 */
export const MAX_NESTING_DEPTH = 64;

// Width in bytes of the value after each fixed-width constructor (AMQP 1.0 part 1, 1.6); -1 for
// the other constructors, which are handled by code in skipBody.
const FIXED_WIDTH = new Int8Array(256).fill(-1);
for (const code of [0x40, 0x41, 0x42, 0x43, 0x44, 0x45]) FIXED_WIDTH[code] = 0;
for (const code of [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56]) FIXED_WIDTH[code] = 1;
for (const code of [0x60, 0x61]) FIXED_WIDTH[code] = 2;
for (const code of [0x70, 0x71, 0x72, 0x73, 0x74]) FIXED_WIDTH[code] = 4;
for (const code of [0x80, 0x81, 0x82, 0x83, 0x84]) FIXED_WIDTH[code] = 8;
for (const code of [0x94, 0x98]) FIXED_WIDTH[code] = 16;

/** The constructors of variable-width, compound and array values. */
const SIZED_CODES = new Set([0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3, 0xc0, 0xc1, 0xd0, 0xd1, 0xe0, 0xf0]);

/**
 * Returns the position just after the encoded value that starts at `pos`, having checked all of
 * it against `end` (default: the end of `buf`): every constructor is one AMQP defines, every size
 * and count fits the bytes that follow, the contents of a list, map or array fill exactly its
 * size, and nesting stays within MAX_NESTING_DEPTH. Throws AmqpFormatError otherwise, so a value
 * that passes can be handed to any decoder without it reading past the end, looping on counts
 * the bytes cannot hold, or recursing without bound.
 */
export function skipValue(buf: Buffer, pos: number, end = buf.length, depth = 0): number {
  if (pos >= end) throw new AmqpFormatError(`truncated value at ${pos}`);
  if (buf[pos] !== 0x00) return skipBody(buf, buf[pos], pos + 1, end, depth);
  if (depth >= MAX_NESTING_DEPTH) throw tooDeep(pos);
  return skipValue(buf, skipDescriptor(buf, pos + 1, end, depth + 1), end, depth + 1);
}

/**
 * A descriptor may be any value: AMQP 1.0 part 1, 1.5 reserves all but ulong and symbol, "while not
 * syntactically invalid", and Microsoft.Azure.Amqp decodes any (src/Encoding/DescribedEncoding.cs).
 * pyamqp relies on it: it encodes a tuple as a described value, so the `security_token` of its
 * management requests, an AccessToken (token, expires_on), arrives as a binary descriptor on an int
 * (azure-eventhub _pyamqp/_encode.py encode_value; _client_base.py _management_request).
 */
function skipDescriptor(buf: Buffer, pos: number, end: number, depth: number): number {
  if (pos >= end) throw new AmqpFormatError(`truncated descriptor at ${pos}`);
  return skipValue(buf, pos, end, depth);
}

/** The end of a value of type `code` whose bytes (after the constructor) start at `pos`. */
function skipBody(buf: Buffer, code: number, pos: number, end: number, depth: number): number {
  const width = FIXED_WIDTH[code];
  if (width >= 0) return within(pos + width, end, pos);
  switch (code) {
    case 0xa0:
    case 0xa1:
    case 0xa3:
      within(pos + 1, end, pos);
      return within(pos + 1 + buf[pos], end, pos);
    case 0xb0:
    case 0xb1:
    case 0xb3:
      within(pos + 4, end, pos);
      return within(pos + 4 + buf.readUInt32BE(pos), end, pos);
    case 0xc0:
      return skipCompound(buf, pos, 1, false, end, depth);
    case 0xc1:
      return skipCompound(buf, pos, 1, true, end, depth);
    case 0xd0:
      return skipCompound(buf, pos, 4, false, end, depth);
    case 0xd1:
      return skipCompound(buf, pos, 4, true, end, depth);
    case 0xe0:
      return skipArray(buf, pos, 1, end, depth);
    case 0xf0:
      return skipArray(buf, pos, 4, end, depth);
    default:
      throw new AmqpFormatError(`unknown type constructor 0x${hex(code)} at ${pos - 1}`);
  }
}

/** Size and count of a list, map or array: `width` bytes each, the size counting what follows it. */
function sizeAndCount(buf: Buffer, pos: number, width: 1 | 4, end: number) {
  within(pos + 2 * width, end, pos);
  const size = width === 1 ? buf[pos] : buf.readUInt32BE(pos);
  const count = width === 1 ? buf[pos + 1] : buf.readUInt32BE(pos + width);
  if (size < width) throw new AmqpFormatError(`size ${size} at ${pos} cannot hold its count`);
  return { count, contents: pos + 2 * width, stop: within(pos + width + size, end, pos) };
}

function skipCompound(buf: Buffer, pos: number, width: 1 | 4, isMap: boolean, end: number, depth: number) {
  if (depth >= MAX_NESTING_DEPTH) throw tooDeep(pos);
  const { count, contents, stop } = sizeAndCount(buf, pos, width, end);
  // Every element takes at least one byte (its constructor).
  if (count > stop - contents) throw cannotHold(count, stop - contents, pos - 1);
  if (isMap && count % 2 !== 0) throw new AmqpFormatError(`map at ${pos} has an odd element count ${count}`);
  let cursor = contents;
  for (let i = 0; i < count; i++) cursor = skipValue(buf, cursor, stop, depth + 1);
  if (cursor !== stop) throw new AmqpFormatError(`the elements at ${pos} do not fill its size`);
  return stop;
}

function skipArray(buf: Buffer, pos: number, width: 1 | 4, end: number, depth: number): number {
  if (depth >= MAX_NESTING_DEPTH) throw tooDeep(pos);
  const { count, contents, stop } = sizeAndCount(buf, pos, width, end);
  let cursor = contents;
  if (cursor >= stop) throw new AmqpFormatError(`array at ${pos} has no element constructor`);
  if (buf[cursor] === 0x00) cursor = skipDescriptor(buf, cursor + 1, stop, depth + 1);
  if (cursor >= stop) throw new AmqpFormatError(`array at ${pos} has no element constructor`);
  const code = buf[cursor++];
  const elementWidth = FIXED_WIDTH[code];
  // Checked even for an empty array: a decoder looks the element type up before reading any.
  if (elementWidth < 0 && !SIZED_CODES.has(code))
    throw new AmqpFormatError(`unknown element constructor 0x${hex(code)} in the array at ${pos - 1}`);
  if (elementWidth === 0) {
    // Elements of null, true, false, uint0, ulong0 and list0 take no bytes at all: a decoder
    // makes one value per count, so the count is held to the bytes that remain, as for others.
    if (count > end - pos) throw cannotHold(count, end - pos, pos - 1);
  } else if (elementWidth > 0) {
    if (count * elementWidth !== stop - cursor)
      throw new AmqpFormatError(
        `array at ${pos}: ${count} elements of ${elementWidth} bytes do not fill its size`,
      );
    cursor = stop;
  } else {
    if (count > stop - cursor) throw cannotHold(count, stop - cursor, pos - 1);
    for (let i = 0; i < count; i++) cursor = skipBody(buf, code, cursor, stop, depth + 1);
  }
  if (cursor !== stop) throw new AmqpFormatError(`the elements of the array at ${pos} do not fill its size`);
  return stop;
}

function within(position: number, end: number, at: number): number {
  if (position > end)
    throw new AmqpFormatError(
      `truncated value at ${at}: needs ${position - at} more bytes, ${end - at} remain`,
    );
  return position;
}

function cannotHold(count: number, bytes: number, at: number): AmqpFormatError {
  return new AmqpFormatError(
    `the count ${count} of the value at ${at} is more than the ${bytes} bytes after it can hold`,
  );
}

function tooDeep(pos: number): AmqpFormatError {
  return new AmqpFormatError(`nesting deeper than ${MAX_NESTING_DEPTH} levels at ${pos}`);
}

const hex = (byte: number | undefined) => (byte ?? 0).toString(16).padStart(2, '0');

/** Splits an encoded message into its sections, each checked with skipValue. */
export function readSections(buf: Buffer): Section[] {
  const sections: Section[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== 0x00) throw new AmqpFormatError(`expected a described section at ${pos}`);
    const valueStart = skipDescriptor(buf, pos + 1, buf.length, 0);
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
  const code = SYMBOLIC_SECTION_CODES[readString(buf, pos) ?? ''];
  if (code !== undefined) return code;
  throw new AmqpFormatError(`unknown section descriptor at ${pos}`);
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
  if (code !== 0xc1 && code !== 0xd1)
    throw new AmqpFormatError(`expected a map at ${pos}, found 0x${hex(code)}`);
  // Size and count come from the peer: skipValue checks them against the buffer first.
  const mapEnd = skipValue(buf, pos);
  const width = code === 0xc1 ? 1 : 4;
  const count = width === 1 ? buf[pos + 2] : buf.readUInt32BE(pos + 5);
  const entries: MapEntry[] = [];
  let cursor = pos + 1 + 2 * width;
  for (let i = 0; i < count; i += 2) {
    const keyStart = cursor;
    const valueStart = skipValue(buf, keyStart, mapEnd);
    const end = skipValue(buf, valueStart, mapEnd);
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
