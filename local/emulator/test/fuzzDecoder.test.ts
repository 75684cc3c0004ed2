// Property-based tests of the emulator's AMQP checks (fast-check): on random and mutated bytes
// they refuse with their own error or accept, never throw anything else or run away; and whatever
// they accept, rhea (which decodes after them) reads without error, to the same end. That second
// property is what makes the checks a sound guard for rhea's decoder.
import fc from 'fast-check';
import { message as rheaMessage, types } from 'rhea';
import frames from 'rhea/lib/frames.js';
import terminus from 'rhea/lib/terminus.js';
import { AmqpFormatError, skipValue } from '../amqp/codec';
import { BATCH_MESSAGE_FORMAT, parseTransfer } from '../amqp/eventMessage';
import { ClientFault } from '../amqp/clientFaults';
import { FrameGuard, MAX_FRAME_SIZE } from '../amqp/frameGuard';
import { readMessage } from '../amqp/messageFormat';
import { checkPerformative, InvalidFieldError } from '../amqp/performatives';
import { bin, list, map, Section, section, str, sym } from '../../../test/integration/emulator/amqpBytes';
import {
  amqpValue,
  checkProperty,
  FUZZ_SCALE,
  mutate,
  mutations,
  position,
  symbolText,
} from '../../../test/integration/emulator/fuzzing';
import {
  AMQP_HEADER,
  frame,
  performativeBytes,
  SASL_HEADER,
} from '../../../test/integration/emulator/rawAmqp';

const TIMEOUT = 60_000 * FUZZ_SCALE;

interface RheaReader {
  read(): unknown;
  position: number;
}
const Reader = (types as unknown as { Reader: new (buffer: Buffer) => RheaReader }).Reader;

/** rhea reads a value from the start of `bytes`; returns where it stopped. */
function rheaReads(bytes: Buffer): number {
  const reader = new Reader(bytes);
  reader.read();
  return reader.position;
}

function refusesWith(error: unknown, ...allowed: (new (...args: never[]) => Error)[]) {
  if (!allowed.some((type) => error instanceof type)) throw error;
}

describe('AMQP decoding, property-based', () => {
  test(
    'random bytes: a value is refused with AmqpFormatError or ends within the bytes',
    () =>
      checkProperty(
        'random bytes',
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const buf = Buffer.from(bytes);
          try {
            const end = skipValue(buf, 0);
            expect(end).toBeGreaterThan(0);
            expect(end).toBeLessThanOrEqual(buf.length);
            expect(rheaReads(buf)).toBe(end);
          } catch (error) {
            refusesWith(error, AmqpFormatError);
          }
        }),
        3000,
      ),
    TIMEOUT,
  );

  test(
    'values in every encoding are accepted whole, and rhea reads them to the same end',
    () =>
      checkProperty(
        'encoded values',
        fc.property(amqpValue, (value) => {
          expect(skipValue(value, 0)).toBe(value.length);
          expect(rheaReads(value)).toBe(value.length);
        }),
        2000,
      ),
    TIMEOUT,
  );

  test(
    'mutated values: whatever is accepted, rhea reads without error to the same end',
    () =>
      checkProperty(
        'mutated values',
        fc.property(amqpValue, mutations, (value, edits) => {
          const bytes = mutate(value, edits);
          let end: number;
          try {
            end = skipValue(bytes, 0);
          } catch (error) {
            return refusesWith(error, AmqpFormatError);
          }
          expect(rheaReads(bytes)).toBe(end);
        }),
        5000,
      ),
    TIMEOUT,
  );

  const annotations = fc
    .array(
      fc.tuple(
        symbolText(10).map((text) => `x-${text}`),
        amqpValue,
      ),
      { maxLength: 3 },
    )
    .map((entries) => map(entries.flatMap(([key, value]) => [sym(key), value])));
  const sections = fc.record({
    header: fc.option(
      fc.array(amqpValue, { maxLength: 3 }).map((values) => section(Section.header, list(values))),
    ),
    messageAnnotations: fc.option(annotations.map((value) => section(Section.messageAnnotations, value))),
    properties: fc.option(
      fc.array(amqpValue, { maxLength: 4 }).map((values) => section(Section.properties, list(values))),
    ),
    applicationProperties: fc.option(
      fc
        .array(fc.tuple(fc.string({ maxLength: 8 }), amqpValue), { maxLength: 3 })
        .map((entries) =>
          section(Section.applicationProperties, map(entries.flatMap(([k, v]) => [str(k), v]))),
        ),
    ),
    body: fc.oneof(
      fc
        .array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 3 })
        .map((parts) => Buffer.concat(parts.map((part) => section(Section.data, bin(Buffer.from(part)))))),
      amqpValue.map((value) => section(Section.amqpValue, value)),
    ),
  });
  const message = sections.map((s) =>
    Buffer.concat(
      [s.header, s.messageAnnotations, s.properties, s.applicationProperties, s.body].flatMap((part) =>
        part ? [part] : [],
      ),
    ),
  );

  test(
    'mutated messages and batches: refused as decode errors, or decoded by rhea without a warning',
    () => {
      const warn = jest.spyOn(console, 'warn');
      return checkProperty(
        'mutated messages',
        fc.property(
          fc.array(message, { minLength: 1, maxLength: 3 }),
          mutations,
          fc.boolean(),
          (events, edits, inBatch) => {
            const payload = mutate(
              inBatch ? Buffer.concat(events.map((event) => section(Section.data, bin(event)))) : events[0],
              edits,
            );
            try {
              parseTransfer(payload, inBatch ? BATCH_MESSAGE_FORMAT : 0);
            } catch (error) {
              refusesWith(error, AmqpFormatError);
            }
            try {
              readMessage(payload);
            } catch (error) {
              return refusesWith(error, AmqpFormatError);
            }
            rheaMessage.decode(payload);
            expect(warn).not.toHaveBeenCalled();
          },
        ),
        3000,
      ).finally(() => warn.mockRestore());
    },
    TIMEOUT,
  );

  const source = terminus.source({
    address: 'events/ConsumerGroups/$default/Partitions/0',
    filter: { f: 'x' },
  });
  const target = terminus.target({ address: 'events' });
  const PERFORMATIVES = [
    frames.open({ container_id: 'c', hostname: 'h', max_frame_size: 65536, properties: { product: 'x' } }),
    frames.begin({ next_outgoing_id: 0, incoming_window: 10, outgoing_window: 10, handle_max: 7 }),
    frames.attach({
      name: 'l',
      handle: 0,
      role: false,
      source: source.described(),
      target: target.described(),
      desired_capabilities: ['com.microsoft:georeplication'],
      properties: { 'com.microsoft:epoch': 1 },
    }),
    frames.flow({ incoming_window: 10, next_outgoing_id: 0, outgoing_window: 10, handle: 0, link_credit: 5 }),
    frames.transfer({
      handle: 0,
      delivery_id: 0,
      delivery_tag: Buffer.from('t'),
      message_format: 0,
      more: false,
    }),
    frames.disposition({
      role: true,
      first: 0,
      last: 3,
      settled: true,
      state: (rheaMessage as unknown as { accepted(): { described(): unknown } }).accepted().described(),
    }),
    frames.detach({ handle: 0, closed: true, error: { condition: 'amqp:internal-error', description: 'x' } }),
    frames.end({}),
    frames.close({ error: { condition: 'amqp:connection:forced', description: 'bye' } }),
  ].map((performative) => performativeBytes(performative));

  test(
    'mutated performatives: refused as decode errors or invalid fields, or read by rhea as one it can dispatch',
    () =>
      checkProperty(
        'mutated performatives',
        fc.property(fc.constantFrom(...PERFORMATIVES), mutations, (body, edits) => {
          const bytes = mutate(body, edits);
          if (bytes.length === 0) return;
          try {
            checkPerformative(bytes, 0, bytes.length, false);
          } catch (error) {
            return refusesWith(error, AmqpFormatError, InvalidFieldError);
          }
          const read = frames.read_frame(frame(bytes)) as { performative: { dispatch?: unknown } };
          expect(typeof read.performative.dispatch).toBe('function');
        }),
        5000,
      ),
    TIMEOUT,
  );

  const validStream = Buffer.concat([
    AMQP_HEADER,
    ...PERFORMATIVES.map((body) => frame(body)),
    frame(Buffer.alloc(0)),
  ]);

  /** Feeds `stream` to a FrameGuard in the given chunks; returns what reached rhea and any fault. */
  function guard(stream: Buffer, cuts: number[]) {
    const passed: Buffer[] = [];
    let fault: ClientFault | undefined;
    let held = 0;
    const frameGuard = new FrameGuard({
      frames: (bytes) => passed.push(Buffer.from(bytes)),
      fault: (error) => (fault = error),
      saslState: () => 'done',
      awaitSasl: (resume) => resume(),
    });
    let start = 0;
    for (const cut of [
      ...cuts.map((c) => Math.floor(c * stream.length)).sort((a, b) => a - b),
      stream.length,
    ]) {
      frameGuard.push(stream.subarray(start, Math.max(start, cut)));
      held = Math.max(held, frameGuard.heldBytes);
      start = Math.max(start, cut);
    }
    return { passed: Buffer.concat(passed), fault, held };
  }

  const cuts = fc.array(position, { maxLength: 12 });

  test(
    'framing: any chunking of a valid stream reaches rhea byte for byte',
    () =>
      checkProperty(
        'chunked streams',
        fc.property(cuts, fc.boolean(), (at, sasl) => {
          const stream = sasl
            ? Buffer.concat([
                SASL_HEADER,
                frame(performativeBytes(frames.sasl_init({ mechanism: 'ANONYMOUS' })), { type: 1 }),
                validStream,
              ])
            : validStream;
          const { passed, fault } = guard(stream, at);
          expect(fault).toBeUndefined();
          expect(passed.equals(stream)).toBe(true);
        }),
        2000,
      ),
    TIMEOUT,
  );

  test(
    'framing: a mutated stream passes a prefix of itself, then at most a ClientFault; one frame at most is held',
    () =>
      checkProperty(
        'mutated streams',
        fc.property(mutations, cuts, (edits, at) => {
          const stream = mutate(validStream, edits);
          let result;
          try {
            result = guard(stream, at);
          } catch (error) {
            throw new Error(`the guard threw ${String(error)} instead of reporting a fault`);
          }
          expect(stream.subarray(0, result.passed.length).equals(result.passed)).toBe(true);
          expect(result.held).toBeLessThanOrEqual(MAX_FRAME_SIZE);
          if (!result.fault) return;
          expect(result.fault).toBeInstanceOf(ClientFault);
        }),
        3000,
      ),
    TIMEOUT,
  );
});
