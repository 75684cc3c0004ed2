// What a producer's message may look like (AMQP 1.0 part 3, 3.2): sections in order, each once,
// one kind of body; the service's annotations are the emulator's to set, and an event's partition
// key is its batch's. Malformed messages are AmqpFormatError (a decode-error rejection), never a
// crash, and nothing of them is stored.
import { message as rheaMessage } from 'rhea';
import { AmqpFormatError } from '../amqp/codec';
import { AnnotatedEvent, BATCH_MESSAGE_FORMAT, parseTransfer } from '../amqp/eventMessage';
import { readMessage } from '../amqp/messageFormat';
import {
  batch,
  bin,
  described,
  describedChain,
  list,
  long,
  map,
  nestedLists,
  nul,
  Section,
  section,
  str,
  sym,
  timestamp,
} from '../../../test/integration/emulator/amqpBytes';

const properties = section(Section.properties, list([str('message-1')]));
const applicationProperties = section(Section.applicationProperties, map([str('tenant'), str('contoso')]));
const body = section(Section.data, bin(Buffer.from('{"ok":true}')));
const forgedAnnotations = section(
  Section.messageAnnotations,
  map([
    sym('x-opt-sequence-number'),
    long(999),
    sym('x-opt-offset'),
    str('123456'),
    sym('x-opt-enqueued-time'),
    timestamp(0),
    sym('x-custom'),
    str('kept'),
  ]),
);

function refuses(message: Buffer, reason: RegExp, format = 0) {
  expect(() => parseTransfer(message, format)).toThrow(AmqpFormatError);
  expect(() => parseTransfer(message, format)).toThrow(reason);
}

/** What a consumer decodes from the stored event. */
function stored(message: Buffer, format = 0) {
  const [event] = parseTransfer(message, format).events;
  const annotated = new AnnotatedEvent(event, 7, 4096, 1_700_000_000_000);
  const bytes = Buffer.alloc(annotated.length);
  annotated.writeTo(bytes, 0);
  return rheaMessage.decode(bytes);
}

describe('message sections', () => {
  test('a message in AMQP order is stored as sent, with the service annotations added', () => {
    const decoded = stored(Buffer.concat([properties, applicationProperties, body]));
    expect(decoded.message_id).toBe('message-1');
    expect(decoded.application_properties).toEqual({ tenant: 'contoso' });
    expect(decoded.message_annotations).toMatchObject({ 'x-opt-sequence-number': 7, 'x-opt-offset': '4096' });
  });

  test('annotations after the properties are refused: a producer cannot forge the service annotations', () => {
    refuses(
      Buffer.concat([properties, forgedAnnotations, body]),
      /message-annotations section .* follows the properties/,
    );
    refuses(
      batch([Buffer.concat([properties, forgedAnnotations, body])]),
      /follows the properties/,
      BATCH_MESSAGE_FORMAT,
    );
  });

  test('the service annotations a producer puts in their place are replaced by the emulator’s', () => {
    const decoded = stored(
      batch([Buffer.concat([forgedAnnotations, properties, body])]),
      BATCH_MESSAGE_FORMAT,
    );
    expect(decoded.message_annotations).toEqual({
      'x-custom': 'kept',
      'x-opt-sequence-number': 7,
      'x-opt-offset': '4096',
      'x-opt-enqueued-time': new Date(1_700_000_000_000),
    });
  });

  test.each([
    ['two properties sections', [properties, properties, body], /a second properties section/],
    [
      'two message-annotations sections',
      [forgedAnnotations, forgedAnnotations, body],
      /a second message-annotations/,
    ],
    [
      'a header after the body',
      [body, section(Section.header, list([]))],
      /header section .* follows the data/,
    ],
    ['a footer before the body', [section(Section.footer, map([])), body], /follows the footer/],
    [
      'two amqp-value bodies',
      [section(Section.amqpValue, str('a')), section(Section.amqpValue, str('b'))],
      /a body is one/,
    ],
    ['data then amqp-sequence', [body, section(Section.amqpSequence, list([]))], /a body is one/],
    [
      'a properties section holding a string',
      [section(Section.properties, str('x')), body],
      /holds a value of type 0xa1/,
    ],
    ['a data section holding a list', [section(Section.data, list([]))], /holds a value of type 0xd0/],
    ['an unknown section', [section(0x79, nul())], /unknown section descriptor|unknown message section/],
    ['bytes that are no section', [body, Buffer.from([0x40])], /expected a described section/],
  ])('refuses %s', (_, parts, reason) => {
    refuses(Buffer.concat(parts), reason);
    refuses(batch([Buffer.concat(parts)]), reason, BATCH_MESSAGE_FORMAT);
  });

  test('several data sections, or several amqp-sequence sections, make one body', () => {
    expect(() => readMessage(Buffer.concat([body, body]))).not.toThrow();
    const sequence = section(Section.amqpSequence, list([str('x')]));
    expect(() => readMessage(Buffer.concat([sequence, sequence]))).not.toThrow();
  });

  test('the batch envelope follows the same rules', () => {
    const envelopeProperties = section(Section.properties, list([]));
    refuses(
      Buffer.concat([
        envelopeProperties,
        section(Section.messageAnnotations, map([])),
        section(Section.data, bin(body)),
      ]),
      /follows the properties/,
      BATCH_MESSAGE_FORMAT,
    );
  });

  test('a 200,000-deep described chain in an event is a decode error, not a stack overflow', () => {
    const deep = Buffer.concat([section(Section.amqpValue, describedChain(200_000))]);
    refuses(deep, /nesting deeper than 64 levels/);
    refuses(batch([deep]), /nesting deeper than 64 levels/, BATCH_MESSAGE_FORMAT);
    const nested = section(Section.amqpValue, nestedLists(100_000));
    refuses(nested, /nesting deeper than 64 levels/);
    expect(() => readMessage(section(Section.amqpValue, nestedLists(60)))).not.toThrow();
  });
});

describe('partition keys', () => {
  const keyed = (key: Buffer) =>
    Buffer.concat([section(Section.messageAnnotations, map([sym('x-opt-partition-key'), key])), body]);

  test('an event keeps the partition key of its batch', () => {
    const transfer = parseTransfer(batch([keyed(str('tenant-a')), body], 'tenant-a'), BATCH_MESSAGE_FORMAT);
    expect(transfer.partitionKey).toBe('tenant-a');
    expect(transfer.events.map((event) => event.partitionKey)).toEqual(['tenant-a', 'tenant-a']);
  });

  test('an event labelled with another key than its batch is refused', () => {
    refuses(
      batch([keyed(str('tenant-b'))], 'tenant-a'),
      /partition key 'tenant-b' differs from its batch's 'tenant-a'/,
      BATCH_MESSAGE_FORMAT,
    );
    refuses(batch([keyed(str('tenant-b'))]), /differs from its batch's \(none\)/, BATCH_MESSAGE_FORMAT);
  });

  test('a partition key that is not a string is refused', () => {
    refuses(keyed(long(5)), /partition key must be a string/);
    refuses(keyed(sym('tenant-a')), /partition key must be a string/);
  });

  test('a described value in the annotations is read past, whole', () => {
    const annotations = map([sym('x-custom'), described(0x01, list([str('a')]))]);
    expect(() =>
      parseTransfer(Buffer.concat([section(Section.messageAnnotations, annotations), body]), 0),
    ).not.toThrow();
  });
});
