// Turns what a producer sends into what a consumer receives. A producer's transfer is either one
// AMQP message (format 0) or a batch (format 0x80013700) whose body is data sections, each an
// encoded event. Each event is stored with the annotations the service adds (sequence number,
// offset, enqueued time, partition key) spliced in as bytes; its properties and body are kept
// byte for byte. Every message is checked first (messageFormat.ts): a producer cannot pass its own
// sequence number, offset or enqueued time off as the service's, nor file an event under one
// partition key and label it with another.
import {
  AmqpFormatError,
  encodeAnnotationsSection,
  encodeLong,
  encodeString,
  encodeSymbol,
  encodeTimestamp,
  readBinary,
  readInteger,
  readMapEntries,
  readString,
  SectionCode,
} from './codec';
import { readMessage } from './messageFormat';

export const BATCH_MESSAGE_FORMAT = 0x80013700;

export const Annotation = {
  sequenceNumber: 'x-opt-sequence-number',
  offset: 'x-opt-offset',
  enqueuedTime: 'x-opt-enqueued-time',
  partitionKey: 'x-opt-partition-key',
} as const;

// Producer annotations of idempotent publishing stay with the event, as the service keeps them.
const PRODUCER_SEQUENCE_NUMBER = 'com.microsoft:producer-sequence-number';
const SERVICE_ANNOTATIONS = new Set<string>(Object.values(Annotation));
const {
  header: HEADER,
  messageAnnotations: MESSAGE_ANNOTATIONS,
  properties: PROPERTIES,
  data: DATA,
} = SectionCode;
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
  /** Set by idempotent producers (com.microsoft:producer-sequence-number). */
  producerSequenceNumber: number | undefined;
}

export interface IncomingTransfer {
  events: IncomingEvent[];
  /** The partition key of the batch (or single message), used to choose the partition. */
  partitionKey: string | undefined;
}

/** Parses a transfer's payload (a whole encoded message) into events. */
export function parseTransfer(payload: Buffer, format: number): IncomingTransfer {
  if (format === 0) {
    const event = parseEvent(payload, undefined, false);
    return { events: [event], partitionKey: event.partitionKey };
  }
  if (format !== BATCH_MESSAGE_FORMAT) {
    throw new AmqpFormatError(`unsupported message format 0x${format.toString(16)}`);
  }
  let partitionKey: string | undefined;
  const bodies: Buffer[] = [];
  for (const section of readMessage(payload)) {
    if (section.code === MESSAGE_ANNOTATIONS) {
      partitionKey = partitionKeyOf(payload, section.valueStart);
    } else if (section.code === DATA) {
      bodies.push(readBinary(payload, section.valueStart));
    }
  }
  if (bodies.length === 0)
    throw new AmqpFormatError('a batch message must contain at least one data section');
  return { events: bodies.map((body) => parseEvent(body, partitionKey, true)), partitionKey };
}

function parseEvent(encoded: Buffer, batchPartitionKey: string | undefined, inBatch: boolean): IncomingEvent {
  let header: Buffer = EMPTY;
  let userAnnotations: Buffer[] = [];
  let partitionKey = batchPartitionKey;
  let producerSequenceNumber: number | undefined;
  let restStart = encoded.length;
  for (const section of readMessage(encoded)) {
    if (section.code === HEADER) {
      header = encoded.subarray(section.start, section.end);
    } else if (section.code === MESSAGE_ANNOTATIONS) {
      userAnnotations = [];
      for (const entry of readMapEntries(encoded, section.valueStart)) {
        if (entry.key === Annotation.partitionKey) {
          const own = annotationKey(encoded, entry.valueStart);
          // A batch is stored in the partition of its own key: an event labelled with another
          // would be read from a partition its key does not hash to (Event Hubs refuses such batches).
          if (inBatch && own !== undefined && own !== batchPartitionKey) {
            throw new AmqpFormatError(
              `an event's partition key '${own}' differs from its batch's ` +
                (batchPartitionKey === undefined ? '(none)' : `'${batchPartitionKey}'`),
            );
          }
          partitionKey = own ?? partitionKey;
          continue;
        }
        if (entry.key === PRODUCER_SEQUENCE_NUMBER)
          producerSequenceNumber = readInteger(encoded, entry.valueStart);
        // The service's own annotations are set by the emulator alone (see AnnotatedEvent).
        if (entry.key === undefined || !SERVICE_ANNOTATIONS.has(entry.key)) {
          userAnnotations.push(
            encoded.subarray(entry.keyStart, entry.valueStart),
            encoded.subarray(entry.valueStart, entry.end),
          );
        }
      }
    } else if (section.code >= PROPERTIES && restStart === encoded.length) {
      // Sections are in order (readMessage): everything from here on is kept as sent.
      restStart = section.start;
    }
    // Delivery annotations are hop-by-hop: a producer's are not passed on to consumers.
  }
  return { header, userAnnotations, rest: encoded.subarray(restStart), partitionKey, producerSequenceNumber };
}

/** The x-opt-partition-key of a message-annotations map, if it has one. */
function partitionKeyOf(buf: Buffer, mapStart: number): string | undefined {
  for (const entry of readMapEntries(buf, mapStart)) {
    if (entry.key === Annotation.partitionKey) return annotationKey(buf, entry.valueStart);
  }
  return undefined;
}

/** A partition key is a string (null: none). */
function annotationKey(buf: Buffer, valueStart: number): string | undefined {
  if (buf[valueStart] === NULL) return undefined;
  const key = readString(buf, valueStart);
  if (key === undefined || buf[valueStart] === 0xa3 || buf[valueStart] === 0xb3)
    throw new AmqpFormatError(
      `the partition key must be a string, found type 0x${buf[valueStart].toString(16)}`,
    );
  return key;
}

/**
 * The stored (delivered) encoding of an event: its header, then message annotations holding the
 * producer's own annotations plus the service's, then the rest of the event as sent. Written in
 * place, so a batch is encoded into one buffer without intermediate allocations.
 */
export class AnnotatedEvent {
  private readonly offsetText: string;
  private readonly partitionKey: Buffer | undefined;
  private readonly annotationsSize: number;
  readonly length: number;

  constructor(
    private readonly event: IncomingEvent,
    private readonly sequenceNumber: number,
    offset: number,
    private readonly enqueuedTimeMs: number,
  ) {
    this.offsetText = String(offset);
    this.partitionKey = event.partitionKey === undefined ? undefined : encodeString(event.partitionKey);
    let size = 4; // map32 count
    for (const part of event.userAnnotations) size += part.length;
    size += KEY_SEQUENCE_NUMBER.length + 9 + KEY_OFFSET.length + 2 + this.offsetText.length;
    size += KEY_ENQUEUED_TIME.length + 9;
    if (this.partitionKey) size += KEY_PARTITION_KEY.length + this.partitionKey.length;
    this.annotationsSize = size;
    this.length = event.header.length + 8 + size + event.rest.length; // 8: descriptor, constructor, size
  }

  /** Where a delivery-annotations section goes: right after the header. */
  get deliveryAnnotationsAt(): number {
    return this.event.header.length;
  }

  /** Writes the encoding into `target` at `pos`; returns the position after it. */
  writeTo(target: Buffer, pos: number): number {
    const { header, userAnnotations, rest } = this.event;
    if (header.length) pos += header.copy(target, pos);
    target[pos] = 0x00;
    target[pos + 1] = 0x53;
    target[pos + 2] = MESSAGE_ANNOTATIONS;
    target[pos + 3] = 0xd1;
    target.writeUInt32BE(this.annotationsSize, pos + 4);
    target.writeUInt32BE(userAnnotations.length + (this.partitionKey ? 8 : 6), pos + 8);
    pos += 12;
    for (const part of userAnnotations) pos += part.copy(target, pos);
    pos = copySmall(KEY_SEQUENCE_NUMBER, target, pos);
    pos = writeInt64(target, pos, 0x81, this.sequenceNumber);
    pos = copySmall(KEY_OFFSET, target, pos);
    target[pos] = 0xa1;
    target[pos + 1] = this.offsetText.length;
    pos += 2 + target.write(this.offsetText, pos + 2, 'latin1');
    pos = copySmall(KEY_ENQUEUED_TIME, target, pos);
    pos = writeInt64(target, pos, 0x83, this.enqueuedTimeMs);
    if (this.partitionKey) {
      pos = copySmall(KEY_PARTITION_KEY, target, pos);
      pos += this.partitionKey.copy(target, pos);
    }
    return pos + rest.copy(target, pos);
  }
}

/** Buffer.copy costs more in call overhead than a loop over a few bytes. */
function copySmall(source: Buffer, target: Buffer, pos: number): number {
  for (let i = 0; i < source.length; i++) target[pos + i] = source[i];
  return pos + source.length;
}

/** A long (0x81) or timestamp (0x83) value: a 64-bit signed big-endian integer. */
function writeInt64(target: Buffer, pos: number, code: number, value: number): number {
  target[pos] = code;
  if (value >= 0) {
    target.writeUInt32BE(Math.floor(value / 0x100000000), pos + 1);
    target.writeUInt32BE(value >>> 0, pos + 5);
  } else {
    target.writeBigInt64BE(BigInt(value), pos + 1);
  }
  return pos + 9;
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
const NULL = 0x40;
