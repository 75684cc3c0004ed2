// Hand-written AMQP 1.0 encodings for tests that need bytes no encoder produces: sections out of
// order, forged annotations, counts the bytes cannot hold, deep nesting.
// The section descriptor codes of AMQP 1.0 part 3.2 (amqp:header:list is 0x70 ... amqp:footer:map
// 0x78), written out here rather than taken from the emulator: these bytes test its decoder.
const Section = {
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

export const nul = () => Buffer.from([0x40]);
export const bool = (value: boolean) => Buffer.from([value ? 0x41 : 0x42]);

export function str(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([0xa1, bytes.length]), bytes]);
}

export function sym(text: string): Buffer {
  const bytes = Buffer.from(text, 'ascii');
  return Buffer.concat([Buffer.from([0xa3, bytes.length]), bytes]);
}

export function bin(bytes: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xb0;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

export function long(value: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = 0x81;
  out.writeBigInt64BE(BigInt(value), 1);
  return out;
}

export function timestamp(ms: number): Buffer {
  const out = long(ms);
  out[0] = 0x83;
  return out;
}

/** list32 or map32 (`code` 0xd0 / 0xd1) of encoded elements; size and count may be overridden. */
export function compound32(
  code: 0xd0 | 0xd1,
  elements: Buffer[],
  override: { size?: number; count?: number } = {},
) {
  const body = Buffer.concat(elements);
  const head = Buffer.alloc(9);
  head[0] = code;
  head.writeUInt32BE(override.size ?? body.length + 4, 1);
  head.writeUInt32BE(override.count ?? elements.length, 5);
  return Buffer.concat([head, body]);
}

export const list = (elements: Buffer[]) => compound32(0xd0, elements);
export const map = (entries: Buffer[]) => compound32(0xd1, entries);

/** array32 with an element constructor and the elements' bytes; size covers count, constructor and bytes. */
export function array32(count: number, constructor: number, elementBytes = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(10);
  head[0] = 0xf0;
  head.writeUInt32BE(4 + 1 + elementBytes.length, 1);
  head.writeUInt32BE(count, 5);
  head[9] = constructor;
  return Buffer.concat([head, elementBytes]);
}

/** A described value with a small ulong descriptor. */
export const described = (code: number, value: Buffer) =>
  Buffer.concat([Buffer.from([0x00, 0x53, code]), value]);

/** `depth` described values, each the descriptor of the next (0x00 0x00 0x00 ... ulong value). */
export function describedChain(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x00), Buffer.from([0x53, 0x01, 0x40])]);
}

/** A message section: described(code, value). */
export const section = described;
export { Section };

/** A batch (format 0x80013700) of encoded events, with an optional partition key on the envelope. */
export function batch(events: Buffer[], partitionKey?: string): Buffer {
  const envelope =
    partitionKey === undefined
      ? []
      : [section(Section.messageAnnotations, map([sym('x-opt-partition-key'), str(partitionKey)]))];
  return Buffer.concat([...envelope, ...events.map((event) => section(Section.data, bin(event)))]);
}

/** `depth` list32s, each the only element of the one around it, around a null. */
export function nestedLists(depth: number): Buffer {
  const out = Buffer.alloc(9 * depth + 1);
  for (let level = 0; level < depth; level++) {
    const at = 9 * level;
    out[at] = 0xd0;
    out.writeUInt32BE(out.length - at - 5, at + 1);
    out.writeUInt32BE(1, at + 5);
  }
  out[out.length - 1] = 0x40;
  return out;
}
