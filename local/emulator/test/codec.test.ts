// The emulator's AMQP map reader takes sizes and counts from the peer: malformed maps are refused
// with AmqpFormatError (a decode error for the client), never read past their end or crash.
import { AmqpFormatError, readMapEntries } from '../amqp/codec';

/** map32 header: constructor, size (bytes after the size field), count, then the entries. */
function map32(size: number, count: number, entries: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head[0] = 0xd1;
  head.writeUInt32BE(size, 1);
  head.writeUInt32BE(count, 5);
  return Buffer.concat([head, entries]);
}

// key "k" (str8) -> value 1 (smallint)
const ENTRY = Buffer.from([0xa1, 0x01, 0x6b, 0x54, 0x01]);

describe('emulator AMQP map reader', () => {
  test('reads well-formed map8 and map32 maps', () => {
    const map8 = Buffer.concat([Buffer.from([0xc1, 1 + ENTRY.length, 2]), ENTRY]);
    expect(readMapEntries(map8, 0).map((entry) => entry.key)).toEqual(['k']);
    expect(readMapEntries(map32(4 + ENTRY.length, 2, ENTRY), 0).map((entry) => entry.key)).toEqual(['k']);
  });

  test.each([
    ['a map32 header cut short', Buffer.from([0xd1, 0x00, 0x00])],
    ['a map32 size beyond the buffer', map32(1000, 2, ENTRY)],
    ['a map32 count beyond its entries', map32(4 + ENTRY.length, 4, ENTRY)],
    ['an odd map32 count', map32(4 + ENTRY.length, 1, ENTRY)],
    ['entries beyond the map32 size', Buffer.concat([map32(4 + 2, 2, ENTRY), ENTRY])],
    ['a map8 header cut short', Buffer.from([0xc1, 0x05])],
  ])('refuses %s', (_, buffer) => {
    expect(() => readMapEntries(buffer, 0)).toThrow(AmqpFormatError);
  });
});
