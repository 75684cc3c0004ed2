// Turns what a producer sends into what a consumer receives. A producer's transfer is either one
// AMQP message (format 0) or a batch (format 0x80013700) whose body is data sections, each an
// encoded event. Each event is stored with the annotations the service adds (sequence number,
// offset, enqueued time, partition key) spliced in as bytes; its properties and body are kept
// byte for byte.
import {
  AmqpFormatError,
  encodeAnnotationsSection,
  encodeLong,
  encodeString,
  encodeSymbol,
  encodeTimestamp,
  readBinary,
  readMapEntries,
  readSections,
  readString,
  SectionCode,
} from './codec';

export const BATCH_MESSAGE_FORMAT = 0x80013700;

export const Annotation = {
  sequenceNumber: 'x-opt-sequence-number',
  offset: 'x-opt-offset',
  enqueuedTime: 'x-opt-enqueued-time',
  partitionKey: 'x-opt-partition-key',
} as const;

const SERVICE_ANNOTATIONS = new Set<string>(Object.values(Annotation));
const KEY_SEQUENCE_NUMBER = encodeSymbol(Annotation.sequenceNumber);
const KEY_OFFSET = encodeSymbol(Annotation.offset);
const KEY_ENQUEUED_TIME = encodeSymbol(Annotation.enqueuedTime);
const KEY_PARTITION_KEY = encodeSymbol(Annotation.partitionKey);

/** An event as received, split into the parts that are kept and the annotations to rebuild. */
export interface IncomingEvent {
  /** The header section, if any (it comes before all annotations). */
  header: Buffer;
  /** The producer's own message annotations, as encoded key/value parts. */
  userAnnotations: Buffer[];
  /** Properties, application properties, body and footer, as sent. */
  rest: Buffer;
  partitionKey: string | undefined;
}

export interface IncomingTransfer {
  events: IncomingEvent[];
  /** The partition key of the batch (or single message), used to choose the partition. */
  partitionKey: string | undefined;
}

/** Parses a transfer's payload (a whole encoded message) into events. */
export function parseTransfer(payload: Buffer, format: number): IncomingTransfer {
  if (format === 0) {
    const event = parseEvent(payload, undefined);
    return { events: [event], partitionKey: event.partitionKey };
  }
  if (format !== BATCH_MESSAGE_FORMAT) {
    throw new AmqpFormatError(`unsupported message format 0x${format.toString(16)}`);
  }
  let partitionKey: string | undefined;
  const bodies: Buffer[] = [];
  for (const section of readSections(payload)) {
    if (section.code === SectionCode.messageAnnotations) {
      partitionKey = annotationString(payload, section.valueStart, Annotation.partitionKey);
    } else if (section.code === SectionCode.data) {
      bodies.push(readBinary(payload, section.valueStart));
    }
  }
  if (bodies.length === 0)
    throw new AmqpFormatError('a batch message must contain at least one data section');
  return { events: bodies.map((body) => parseEvent(body, partitionKey)), partitionKey };
}

function parseEvent(encoded: Buffer, batchPartitionKey: string | undefined): IncomingEvent {
  let header: Buffer = EMPTY;
  let userAnnotations: Buffer[] = [];
  let partitionKey = batchPartitionKey;
  let restStart = encoded.length;
  for (const section of readSections(encoded)) {
    if (section.code === SectionCode.header) {
      header = encoded.subarray(section.start, section.end);
    } else if (section.code === SectionCode.messageAnnotations) {
      userAnnotations = [];
      for (const entry of readMapEntries(encoded, section.valueStart)) {
        if (entry.key === Annotation.partitionKey) {
          partitionKey = readString(encoded, entry.valueStart) ?? partitionKey;
        } else if (entry.key === undefined || !SERVICE_ANNOTATIONS.has(entry.key)) {
          userAnnotations.push(
            encoded.subarray(entry.keyStart, entry.valueStart),
            encoded.subarray(entry.valueStart, entry.end),
          );
        }
      }
    } else if (section.code >= SectionCode.properties && restStart === encoded.length) {
      restStart = section.start;
    }
    // Delivery annotations are hop-by-hop: a producer's are not passed on to consumers.
  }
  return { header, userAnnotations, rest: encoded.subarray(restStart), partitionKey };
}

function annotationString(buf: Buffer, mapStart: number, key: string): string | undefined {
  for (const entry of readMapEntries(buf, mapStart)) {
    if (entry.key === key) return readString(buf, entry.valueStart);
  }
  return undefined;
}

/** The parts of a stored event's encoding, in order, and where delivery annotations go. */
export interface AnnotatedEvent {
  parts: Buffer[];
  length: number;
  deliveryAnnotationsAt: number;
}

export function annotateEvent(
  event: IncomingEvent,
  sequenceNumber: number,
  offset: number,
  enqueuedTimeMs: number,
): AnnotatedEvent {
  const annotationParts = [
    ...event.userAnnotations,
    KEY_SEQUENCE_NUMBER,
    encodeLong(sequenceNumber),
    KEY_OFFSET,
    encodeString(String(offset)),
    KEY_ENQUEUED_TIME,
    encodeTimestamp(enqueuedTimeMs),
  ];
  if (event.partitionKey !== undefined)
    annotationParts.push(KEY_PARTITION_KEY, encodeString(event.partitionKey));
  const annotations = encodeAnnotationsSection(SectionCode.messageAnnotations, annotationParts);
  return {
    parts: [event.header, annotations, event.rest],
    length: event.header.length + annotations.length + event.rest.length,
    deliveryAnnotationsAt: event.header.length,
  };
}

export interface RuntimeInfo {
  lastSequenceNumber: number;
  lastOffset: string;
  lastEnqueuedTimeMs: number;
  retrievalTimeMs: number;
}

/** The delivery-annotations section carrying runtime metrics (trackLastEnqueuedEventProperties). */
export function runtimeInfoSection(info: RuntimeInfo): Buffer {
  return encodeAnnotationsSection(SectionCode.deliveryAnnotations, [
    KEY_LAST_OFFSET,
    encodeString(info.lastOffset),
    KEY_LAST_SEQUENCE_NUMBER,
    encodeLong(info.lastSequenceNumber),
    KEY_LAST_ENQUEUED_TIME,
    encodeTimestamp(info.lastEnqueuedTimeMs),
    KEY_RETRIEVAL_TIME,
    encodeTimestamp(info.retrievalTimeMs),
  ]);
}

const KEY_LAST_OFFSET = encodeSymbol('last_enqueued_offset');
const KEY_LAST_SEQUENCE_NUMBER = encodeSymbol('last_enqueued_sequence_number');
const KEY_LAST_ENQUEUED_TIME = encodeSymbol('last_enqueued_time_utc');
const KEY_RETRIEVAL_TIME = encodeSymbol('runtime_info_retrieval_time_utc');
const EMPTY = Buffer.alloc(0);
