// The shape every AMQP message must have (AMQP 1.0 part 3, 3.2 "Message Format"): header,
// delivery-annotations, message-annotations, properties, application-properties, the body, footer,
// in that order and each at most once; the body is one amqp-value section, or data sections, or
// amqp-sequence sections. Decoders that let a later section overwrite an earlier one (rhea and
// Microsoft.Azure.Amqp both do) would let a producer append annotations after its properties and
// have them taken for the service's, so the emulator refuses such messages instead of guessing.
import { AmqpFormatError, readSections, type Section, SectionCode } from './codec';

const RANK: Record<number, number> = {
  [SectionCode.header]: 0,
  [SectionCode.deliveryAnnotations]: 1,
  [SectionCode.messageAnnotations]: 2,
  [SectionCode.properties]: 3,
  [SectionCode.applicationProperties]: 4,
  [SectionCode.data]: 5,
  [SectionCode.amqpSequence]: 5,
  [SectionCode.amqpValue]: 5,
  [SectionCode.footer]: 6,
};
const BODY_RANK = 5;

const NAME: Record<number, string> = {
  [SectionCode.header]: 'header',
  [SectionCode.deliveryAnnotations]: 'delivery-annotations',
  [SectionCode.messageAnnotations]: 'message-annotations',
  [SectionCode.properties]: 'properties',
  [SectionCode.applicationProperties]: 'application-properties',
  [SectionCode.data]: 'data',
  [SectionCode.amqpSequence]: 'amqp-sequence',
  [SectionCode.amqpValue]: 'amqp-value',
  [SectionCode.footer]: 'footer',
};

// The type each section's value must have. A null list section is read as an empty one; a null
// map section is refused, though AMQP allows it: rhea's message decoder, the JS SDK's included,
// throws on it (rhea-upstream-report.md 11), and the event would reach every consumer.
const LIST = [0x40, 0x45, 0xc0, 0xd0];
const MAP = [0xc1, 0xd1];
const VALUE_TYPES: Record<number, number[] | undefined> = {
  [SectionCode.header]: LIST,
  [SectionCode.deliveryAnnotations]: MAP,
  [SectionCode.messageAnnotations]: MAP,
  [SectionCode.properties]: LIST,
  [SectionCode.applicationProperties]: MAP,
  [SectionCode.data]: [0xa0, 0xb0],
  [SectionCode.amqpSequence]: LIST,
  [SectionCode.amqpValue]: undefined, // any type
  [SectionCode.footer]: MAP,
};

/** The sections of an encoded message, checked for their order, number and types. */
export function readMessage(buf: Buffer): Section[] {
  const sections = readSections(buf);
  let previous: Section | undefined;
  for (const section of sections) {
    const rank = RANK[section.code];
    if (rank === undefined)
      throw new AmqpFormatError(`unknown message section 0x${section.code.toString(16)}`);
    const allowed = VALUE_TYPES[section.code];
    if (allowed && !allowed.includes(buf[section.valueStart])) {
      throw new AmqpFormatError(
        `the ${NAME[section.code]} section at ${section.start} holds a value of type 0x${buf[section.valueStart].toString(16)}`,
      );
    }
    if (previous) {
      const previousRank = RANK[previous.code];
      if (rank < previousRank) {
        throw new AmqpFormatError(
          `the ${NAME[section.code]} section at ${section.start} follows the ${NAME[previous.code]} section; ` +
            'sections go header, delivery-annotations, message-annotations, properties, application-properties, body, footer',
        );
      }
      if (rank === previousRank && rank !== BODY_RANK) {
        throw new AmqpFormatError(`a second ${NAME[section.code]} section at ${section.start}`);
      }
      if (
        rank === BODY_RANK &&
        previousRank === BODY_RANK &&
        (section.code !== previous.code || section.code === SectionCode.amqpValue)
      ) {
        throw new AmqpFormatError(
          `the ${NAME[section.code]} section at ${section.start} follows the ${NAME[previous.code]} section: ` +
            'a body is one amqp-value section, or data sections, or amqp-sequence sections',
        );
      }
    }
    previous = section;
  }
  return sections;
}
