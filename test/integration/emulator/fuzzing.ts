// Shared pieces of the emulator's property-based tests (fast-check): run counts and seeds, AMQP
// values in every encoding the type system has, and byte-level mutations of valid input.
//
// Counts are bounded for CI; EMULATOR_FUZZ_SCALE multiplies them (npm run fuzz:emulator sets 50),
// EMULATOR_FUZZ_SEED replays a run. Every property prints the runs it tried and its seed.
import fc from 'fast-check';

export const FUZZ_SCALE = Math.max(1, Number(process.env.EMULATOR_FUZZ_SCALE ?? 1));
const FIXED_SEED = process.env.EMULATOR_FUZZ_SEED;

/** Checks `property` `runs` (times the scale) times; throws fast-check's report on a failure. */
export async function checkProperty<T>(
  name: string,
  property: fc.IProperty<T> | fc.IAsyncProperty<T>,
  runs: number,
): Promise<void> {
  const seed = FIXED_SEED === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(FIXED_SEED);
  const details = await fc.check(property as fc.IAsyncProperty<T>, { numRuns: runs * FUZZ_SCALE, seed });
  console.log(
    `fuzz ${name}: ${details.numRuns} runs tried, seed ${details.seed}${details.failed ? ' FAILED' : ''}`,
  );
  if (details.failed)
    throw new Error(
      `${fc.defaultReportMessage(details) ?? `${name} failed (seed ${details.seed})`}\n` +
        `Error: ${String((details.errorInstance as Error)?.stack ?? details.errorInstance)}`,
    );
}

// --- AMQP values, encoded ------------------------------------------------------------------------

const u32 = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
};
const withCode = (code: number, body: Buffer) => Buffer.concat([Buffer.from([code]), body]);

/** Fixed-width constructors and their widths (AMQP 1.0 part 1, 1.6). */
export const FIXED_TYPES: [number, number][] = [
  [0x40, 0], [0x41, 0], [0x42, 0], [0x43, 0], [0x44, 0], [0x45, 0],
  [0x50, 1], [0x51, 1], [0x52, 1], [0x53, 1], [0x54, 1], [0x55, 1], [0x56, 1],
  [0x60, 2], [0x61, 2],
  [0x70, 4], [0x71, 4], [0x72, 4], [0x73, 4], [0x74, 4],
  [0x80, 8], [0x81, 8], [0x82, 8], [0x83, 8], [0x84, 8],
  [0x94, 16], [0x98, 16],
]; // prettier-ignore

/** ASCII text for symbols (fc.stringMatching is slow enough to dominate a run). */
export const symbolText = (maxLength: number) =>
  fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz:-'), { maxLength }).map((chars) => chars.join(''));

const fixedBody = (width: number) => fc.uint8Array({ minLength: width, maxLength: width }).map(Buffer.from);

const variableBody = (code: number) =>
  (code === 0xa3 || code === 0xb3 ? symbolText(12) : fc.string({ maxLength: 12 })).map((text) => {
    const bytes = Buffer.from(text, code === 0xa3 || code === 0xb3 ? 'ascii' : 'utf8');
    return code < 0xb0
      ? Buffer.concat([Buffer.from([bytes.length]), bytes])
      : Buffer.concat([u32(bytes.length), bytes]);
  });

const primitive: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .constantFrom(...FIXED_TYPES)
    .chain(([code, width]) => fixedBody(width).map((body) => withCode(code, body))),
  fc
    .constantFrom(0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3)
    .chain((code) => variableBody(code).map((body) => withCode(code, body))),
);

/** A compound (list or map) of encoded elements, in its 8- or 32-bit form. */
function compound(code: number, elements: Buffer[]): Buffer {
  const body = Buffer.concat(elements);
  // The 8-bit forms only when size and count fit in a byte.
  if ((code === 0xc0 || code === 0xc1) && body.length < 255)
    return Buffer.concat([Buffer.from([code, body.length + 1, elements.length]), body]);
  return Buffer.concat([Buffer.from([code | 0x10]), u32(body.length + 4), u32(elements.length), body]);
}

/** An array: one element constructor (maybe described), then the elements' bodies. */
function array(wide: boolean, constructor: Buffer, bodies: Buffer[]): Buffer {
  const body = Buffer.concat([constructor, ...bodies]);
  if (!wide && body.length < 255)
    return Buffer.concat([Buffer.from([0xe0, body.length + 1, bodies.length]), body]);
  return Buffer.concat([Buffer.from([0xf0]), u32(body.length + 4), u32(bodies.length), body]);
}

// Mostly the ulong and symbol descriptors AMQP defines, also the reserved kinds a decoder must
// still read (pyamqp sends a binary one: codec.ts skipDescriptor).
const descriptor = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((code) => Buffer.from([0x53, code])),
  fc.constant(Buffer.from([0x44])),
  fixedBody(8).map((body) => withCode(0x80, body)),
  variableBody(0xa3).map((body) => withCode(0xa3, body)),
  variableBody(0xa0).map((body) => withCode(0xa0, body)),
  fc.constant(Buffer.from([0x71, 0, 0, 0, 7])),
);

export const amqpValue: fc.Arbitrary<Buffer> = fc.letrec<{
  value: Buffer;
  compound: Buffer;
  array: Buffer;
  described: Buffer;
}>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthSize: 'small', withCrossShrink: true },
    primitive,
    tie('compound'),
    tie('array'),
    tie('described'),
  ),
  compound: fc
    .tuple(fc.constantFrom(0xc0, 0xd0, 0xc1, 0xd1), fc.array(tie('value'), { maxLength: 6 }))
    .map(([code, items]) =>
      compound(code, code === 0xc1 || code === 0xd1 ? items.slice(0, items.length & ~1) : items),
    ),
  array: fc.oneof(
    fc
      .tuple(
        fc.boolean(),
        fc.option(descriptor, { nil: undefined }),
        fc.constantFrom(...FIXED_TYPES),
        fc.nat({ max: 6 }),
      )
      // Zero-width elements (null, true, ...) are held to one per byte that follows (codec.ts).
      .chain(([wide, described, [code, width], count]) =>
        fc
          .array(fixedBody(width), {
            minLength: width ? count : count % 4,
            maxLength: width ? count : count % 4,
          })
          .map((bodies) =>
            array(
              wide,
              Buffer.concat([...(described ? [Buffer.from([0x00]), described] : []), Buffer.from([code])]),
              bodies,
            ),
          ),
      ),
    fc
      .tuple(fc.boolean(), fc.constantFrom(0xa0, 0xa1, 0xa3, 0xb0, 0xb1, 0xb3))
      .chain(([wide, code]) =>
        fc
          .array(variableBody(code), { maxLength: 5 })
          .map((bodies) => array(wide, Buffer.from([code]), bodies)),
      ),
  ),
  described: fc
    .tuple(descriptor, tie('value'))
    .map(([d, value]) => Buffer.concat([Buffer.from([0x00]), d, value])),
})).value;

// --- mutations -----------------------------------------------------------------------------------

/** Values that break decoders: counts and sizes at their limits, constructors that change meaning. */
const INTERESTING_BYTES = [
  0x00, 0x01, 0x40, 0x45, 0x53, 0x7f, 0x80, 0xa1, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0xff,
];
const INTERESTING_U32 = [
  0, 1, 2, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 20_000_000, 0x7fffffff, 0xfffffff0, 0xffffffff,
];

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

/** A position as a fraction of a length, uniform (fast-check's doubles crowd near 0). */
export const position = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, byte: fc.constantFrom(...INTERESTING_BYTES) }),
  fc.record({ kind: fc.constant('u32' as const), at: position, value: fc.constantFrom(...INTERESTING_U32) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

/** `bytes` with the mutations applied (positions are fractions of the length at the time). */
export function mutate(bytes: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = Math.floor(m.at * out.length);
    switch (m.kind) {
      case 'flip':
        out[at] ^= 1 << m.bit;
        break;
      case 'set':
        out[at] = m.byte;
        break;
      case 'u32':
        if (at + 4 <= out.length) out.writeUInt32BE(m.value, at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
    }
  }
  return out;
}

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });
