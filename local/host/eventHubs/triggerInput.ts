// Events -> the RPC input and trigger metadata the Functions host sends to the Node.js worker for an
// Event Hubs trigger (Microsoft.Azure.WebJobs.Extensions.EventHubs binding data, serialized by the
// host: string[] as collection_string with null/empty entries dropped, long[] as collection_sint64,
// everything else as Newtonsoft JSON, PascalCase keys that the library camel-cases).
import { randomUUID } from 'node:crypto';
import type { ReceivedEventData } from '@azure/event-hubs';
import { RpcTypedData } from '../coreTypes';

export interface PartitionCoordinates {
  fullyQualifiedNamespace: string;
  eventHubName: string;
  consumerGroup: string;
  partitionId: string;
}

export interface TriggerShape {
  functionName: string;
  cardinality: 'many' | 'one';
  dataType: 'string' | 'binary';
  /** The app declared IncludeEmptyEntriesInMessagePayload: string arrays keep empty entries. */
  includeEmptyEntries: boolean;
}

export interface TriggerInvocationInput {
  data: RpcTypedData;
  triggerMetadata: Record<string, RpcTypedData>;
  /** The "Trigger Details: ..." line the host logs for the invocation. */
  details: string;
}

export function toTriggerInput(
  events: ReceivedEventData[],
  partition: PartitionCoordinates,
  shape: TriggerShape,
  isCheckpointingAfterInvocation: boolean,
): TriggerInvocationInput {
  const metadata: Record<string, RpcTypedData> = {
    PartitionContext: json({
      FullyQualifiedNamespace: partition.fullyQualifiedNamespace,
      EventHubName: partition.eventHubName,
      ConsumerGroup: partition.consumerGroup,
      PartitionId: partition.partitionId,
      IsCheckpointingAfterInvocation: isCheckpointingAfterInvocation,
    }),
  };
  let data: RpcTypedData;
  if (shape.cardinality === 'one') {
    const [event] = events;
    const body = eventBodyBytes(event);
    data = shape.dataType === 'binary' ? { bytes: body } : { string: body.toString('utf8') };
    Object.assign(metadata, {
      PartitionKey: event.partitionKey ? { string: event.partitionKey } : {},
      Offset: json(offsetValue(event.offset)),
      SequenceNumber: json(event.sequenceNumber),
      EnqueuedTimeUtc: json(dotNetDateTime(event.enqueuedTimeUtc)),
      Properties: json(userProperties(event)),
      SystemProperties: json(systemProperties(event)),
    });
  } else {
    const bodies = events.map(eventBodyBytes);
    // byte[][] keeps empty bodies (only nulls are dropped); string[] drops null and empty entries
    // unless the worker declared IncludeEmptyEntriesInMessagePayload.
    data =
      shape.dataType === 'binary'
        ? { collectionBytes: { bytes: bodies } }
        : stringCollection(
            bodies.map((b) => b.toString('utf8')),
            shape.includeEmptyEntries,
          );
    Object.assign(metadata, {
      PartitionKeyArray: stringCollection(
        events.map((e) => e.partitionKey),
        shape.includeEmptyEntries,
      ),
      OffsetArray: stringCollection(
        events.map((e) => e.offset),
        shape.includeEmptyEntries,
      ),
      SequenceNumberArray: { collectionSint64: { sint64: events.map((e) => e.sequenceNumber) } },
      EnqueuedTimeUtcArray: json(events.map((e) => dotNetDateTime(e.enqueuedTimeUtc))),
      PropertiesArray: json(events.map(userProperties)),
      SystemPropertiesArray: json(events.map(systemProperties)),
    });
  }
  metadata.sys = json({
    MethodName: shape.functionName,
    UtcNow: new Date().toISOString(),
    RandGuid: randomUUID(),
  });
  return { data, triggerMetadata: metadata, details: triggerDetails(events, partition.partitionId) };
}

/**
 * The event's body as the bytes that went over the wire. Read with `skipParsingBodyAsJson`, a data
 * body is already a Buffer; AMQP value bodies (other producers) are rendered as text or JSON.
 */
export function eventBodyBytes(event: ReceivedEventData): Buffer {
  const body: unknown = event.body;
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** `Trigger Details: PartitionId: 0, Offset: 10-20, EnqueueTimeUtc: ..., SequenceNumber: 3-5, Count: 3`. */
function triggerDetails(events: ReceivedEventData[], partitionId: string): string {
  const first = events[0];
  const last = events[events.length - 1];
  const range = (a: string, b: string) => (events.length === 1 ? a : `${a}-${b}`);
  return (
    `Trigger Details: PartitionId: ${partitionId}, Offset: ${range(first.offset, last.offset)}, ` +
    `EnqueueTimeUtc: ${range(roundTripTime(first.enqueuedTimeUtc), roundTripTime(last.enqueuedTimeUtc))}, ` +
    `SequenceNumber: ${range(String(first.sequenceNumber), String(last.sequenceNumber))}, Count: ${events.length}`
  );
}

function userProperties(event: ReceivedEventData): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(event.properties ?? {}).map(([key, value]) => [key, jsonValue(value)]),
  );
}

/** The SDK's system properties plus the four copies the extension adds "to maintain structure". */
function systemProperties(event: ReceivedEventData): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event.systemProperties ?? {})) properties[key] = jsonValue(value);
  properties['x-opt-sequence-number'] = event.sequenceNumber;
  properties['x-opt-offset'] = event.offset;
  properties['x-opt-enqueued-time'] = event.enqueuedTimeUtc.toISOString();
  if (event.partitionKey) properties['x-opt-partition-key'] = event.partitionKey;
  if (event.messageId !== undefined) properties['message-id'] = jsonValue(event.messageId);
  if (event.correlationId !== undefined) properties['correlation-id'] = jsonValue(event.correlationId);
  if (event.contentType !== undefined) properties['content-type'] = event.contentType;
  properties.SequenceNumber = event.sequenceNumber;
  properties.Offset = offsetValue(event.offset);
  properties.PartitionKey = event.partitionKey ?? null;
  properties.EnqueuedTimeUtc = dotNetDateTime(event.enqueuedTimeUtc);
  return properties;
}

/** Binary property values serialize as base64, as byte[] does in Newtonsoft. */
function jsonValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** EventData.Offset was a long in the extension's contract. */
function offsetValue(offset: string): number | string {
  return /^\d+$/.test(offset) && Number.isSafeInteger(Number(offset)) ? Number(offset) : offset;
}

function stringCollection(values: (string | null | undefined)[], includeEmptyEntries: boolean): RpcTypedData {
  const kept = includeEmptyEntries
    ? values.map((v) => v ?? '')
    : values.filter((v): v is string => Boolean(v));
  return { collectionString: { string: kept } };
}

function json(value: unknown): RpcTypedData {
  return { json: JSON.stringify(value) };
}

/** A DateTime of unspecified kind as Newtonsoft writes it: no zone, trailing fraction zeros trimmed. */
export function dotNetDateTime(date: Date): string {
  return date.toISOString().replace(/\.?0*Z$/, '');
}

/** DateTimeOffset.ToString("o"): seven fraction digits and an explicit +00:00. */
function roundTripTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, (_match, ms: string) => `.${ms}0000+00:00`);
}
