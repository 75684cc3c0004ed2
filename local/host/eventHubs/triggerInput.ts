// Events -> the RPC input and trigger metadata the Functions host sends to the Node.js worker for an
// Event Hubs trigger. Sources (docs/fidelity.md, "Event Hubs trigger"):
// - the parameter type by dataType: azure-functions-host GeneralScriptBindingProvider.ParseDataType
//   (binary -> byte[], string -> string, none -> object; cardinality many -> an array of it);
// - the conversion: EventHubExtensionConfigProvider (EventData -> byte[] = Body, -> string = UTF-8),
//   WebJobs BindingFactoryHelpers/PocoTriggerArgumentBinding (object -> Newtonsoft, see newtonsoftJson.ts);
// - the wire: GrpcMessageConversionExtensions.ToRpc (byte[][] -> collection_bytes without null entries,
//   string[] -> collection_string without null/empty entries, long[] -> collection_sint64, everything
//   else Newtonsoft JSON) and ScriptInvocationContextExtensions (null values and `sys` not sent);
// - the metadata: extension 6.x EventHubTriggerBindingStrategy.GetBindingData (TriggerPartitionContext,
//   OffsetArray = long.TryParse(OffsetString) or -1, OffsetStringArray, system properties with the
//   x-opt-* annotations as Azure.Messaging.EventHubs AmqpSystemProperties presents them).
import type { ReceivedEventData } from '@azure/event-hubs';
import { type RpcTypedData } from '../coreTypes';
import { newtonsoftRoundTrip } from './newtonsoftJson';

export interface PartitionCoordinates {
  fullyQualifiedNamespace: string;
  eventHubName: string;
  consumerGroup: string;
  partitionId: string;
}

export interface TriggerShape {
  functionName: string;
  cardinality: 'many' | 'one';
  /** The binding's dataType; 'default' when it has none (then Newtonsoft binds object[]). */
  dataType: 'default' | 'string' | 'binary';
  /** The app declared IncludeEmptyEntriesInMessagePayload: string arrays keep empty entries. */
  includeEmptyEntries: boolean;
}

/**
 * The trigger input could not be bound: the host fails the invocation before the worker sees it (the
 * handler is not called) and the retry policy binds again, with the same result.
 */
export class TriggerBindingError extends Error {
  override readonly name = 'TriggerBindingError';
  constructor(
    /** Utility.FlattenException of the host's exception chain, as Core Tools prints it. */
    readonly hostMessage: string,
  ) {
    super(hostMessage);
  }
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
  bindingName: string,
): TriggerInvocationInput {
  const details = triggerDetails(events, partition.partitionId, shape.cardinality);
  // The same PartitionContext object under both keys: the host serialises it once (rpcValueCache).
  const partitionContext = json({
    IsCheckpointingAfterInvocation: isCheckpointingAfterInvocation,
    FullyQualifiedNamespace: partition.fullyQualifiedNamespace,
    EventHubName: partition.eventHubName,
    ConsumerGroup: partition.consumerGroup,
    PartitionId: partition.partitionId,
  });
  const metadata: Record<string, RpcTypedData> = {
    TriggerPartitionContext: partitionContext,
    PartitionContext: partitionContext,
  };
  let data: RpcTypedData;
  try {
    if (shape.cardinality === 'one') {
      const [event] = events;
      data = bodyData(eventBodyBytes(event), shape.dataType);
      // Null binding data is not sent at all (ShouldSkipBindingData), so no PartitionKey without a key.
      if (event.partitionKey) metadata.PartitionKey = { string: event.partitionKey };
      Object.assign(metadata, {
        Offset: { string: numericOffset(event.offset) },
        OffsetString: { string: event.offset },
        SequenceNumber: json(event.sequenceNumber),
        EnqueuedTimeUtc: json(dotNetDateTime(event.enqueuedTimeUtc)),
        Properties: json(userProperties(event)),
        SystemProperties: json(systemProperties(event)),
      });
    } else {
      data = bodiesData(events.map(eventBodyBytes), shape);
      Object.assign(metadata, {
        PartitionKeyArray: stringCollection(
          events.map((e) => e.partitionKey),
          shape.includeEmptyEntries,
        ),
        OffsetArray: stringCollection(
          events.map((e) => numericOffset(e.offset)),
          shape.includeEmptyEntries,
        ),
        OffsetStringArray: stringCollection(
          events.map((e) => e.offset),
          shape.includeEmptyEntries,
        ),
        SequenceNumberArray: { collectionSint64: { sint64: events.map((e) => e.sequenceNumber) } },
        EnqueuedTimeUtcArray: json(events.map((e) => dotNetDateTime(e.enqueuedTimeUtc))),
        PropertiesArray: json(events.map(userProperties)),
        SystemPropertiesArray: json(events.map(systemProperties)),
      });
    }
  } catch (error) {
    throw new TriggerBindingError(
      `Microsoft.Azure.WebJobs.Host: Exception binding parameter '${bindingName}'. ${(error as Error).message}`,
    );
  }
  return { data, triggerMetadata: metadata, details };
}

function bodyData(body: Buffer, dataType: TriggerShape['dataType']): RpcTypedData {
  if (dataType === 'binary') return { bytes: body };
  if (dataType === 'string') return { string: body.toString('utf8') };
  return { json: objectBinding([body]).slice(1, -1) };
}

/**
 * byte[][] keeps empty bodies (only nulls are dropped); string[] drops empty entries unless the worker
 * declared IncludeEmptyEntriesInMessagePayload; object[] is one JSON array, empty bodies as null.
 */
function bodiesData(bodies: Buffer[], shape: TriggerShape): RpcTypedData {
  if (shape.dataType === 'binary') return { collectionBytes: { bytes: bodies } };
  if (shape.dataType === 'string') {
    return stringCollection(
      bodies.map((b) => b.toString('utf8')),
      shape.includeEmptyEntries,
    );
  }
  return { json: objectBinding(bodies) };
}

/**
 * object[]: each body decoded as UTF-8 (EventData -> string), then Newtonsoft (PocoTriggerArgumentBinding);
 * the first body that is not JSON fails the whole binding with WebJobs' message.
 */
function objectBinding(bodies: Buffer[]): string {
  const values = bodies.map((body) => {
    try {
      return newtonsoftRoundTrip(body.toString('utf8'));
    } catch (error) {
      throw new Error(
        "Microsoft.Azure.WebJobs.Host: Binding parameters to complex objects (such as 'Object') uses Json.NET serialization. \n" +
          "1. Bind the parameter type as 'string' instead of 'Object' to get the raw values and avoid JSON deserialization, or\n" +
          `2. Change the queue payload to be valid json. The JSON parser failed: ${(error as Error).message}\n.`,
      );
    }
  });
  return `[${values.join(',')}]`;
}

/**
 * The event's body as the bytes that went over the wire. Read with `skipParsingBodyAsJson`, a data
 * body is already a Buffer; AMQP value bodies (other producers) are rendered as text or JSON.
 */
export function eventBodyBytes(event: ReceivedEventData): Buffer {
  const body: unknown = event.body;
  const bodyType = event.getRawAmqpMessage().bodyType ?? 'data';
  if (bodyType !== 'data') {
    // EventData.EventBody (AmqpAnnotatedMessageExtensions.GetEventBody) supports data sections only.
    throw new Error(
      `System.Private.CoreLib: The EventData.EventBody property cannot be used for an AMQP message with a body of type '${bodyType}'.`,
    );
  }
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/**
 * EventHubTriggerInput.GetTriggerDetails, as the host logs it ("PartionId" is the extension's spelling):
 * `Trigger Details: PartionId: 0, Offset: 10-20, EnqueueTimeUtc: ..., SequenceNumber: 3-5, Count: 3`,
 * a first-last range for every batch, single values for cardinality one.
 */
export function triggerDetails(
  events: ReceivedEventData[],
  partitionId: string,
  cardinality: 'many' | 'one',
): string {
  const first = events[0];
  const last = events[events.length - 1];
  const range = (a: string, b: string) => (cardinality === 'one' ? a : `${a}-${b}`);
  return (
    `Trigger Details: PartionId: ${partitionId}, Offset: ${range(first.offset, last.offset)}, ` +
    `EnqueueTimeUtc: ${range(roundTripTime(first.enqueuedTimeUtc), roundTripTime(last.enqueuedTimeUtc))}, ` +
    `SequenceNumber: ${range(String(first.sequenceNumber), String(last.sequenceNumber))}, Count: ${events.length}`
  );
}

function userProperties(event: ReceivedEventData): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(event.properties ?? {}).map(([key, value]) => [key, jsonValue(value)]),
  );
}

/**
 * EventData.SystemProperties (the AMQP properties section's set fields, then the message annotations,
 * x-opt-enqueued-time as a DateTimeOffset) plus the five copies extension 6.x adds "to maintain
 * structure"; PartitionKey stays null when the event has none (Newtonsoft writes the null).
 */
function systemProperties(event: ReceivedEventData): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  if (event.messageId !== undefined) properties['message-id'] = jsonValue(event.messageId);
  if (event.correlationId !== undefined) properties['correlation-id'] = jsonValue(event.correlationId);
  if (event.contentType !== undefined) properties['content-type'] = event.contentType;
  for (const [key, value] of Object.entries(event.systemProperties ?? {})) properties[key] = jsonValue(value);
  properties['x-opt-sequence-number'] = event.sequenceNumber;
  properties['x-opt-offset'] = event.offset;
  properties['x-opt-enqueued-time'] = dotNetDateTimeOffset(event.enqueuedTimeUtc);
  if (event.partitionKey) properties['x-opt-partition-key'] = event.partitionKey;
  properties.SequenceNumber = event.sequenceNumber;
  properties.Offset = Number(numericOffset(event.offset));
  properties.OffsetString = event.offset;
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

/** Extension 6.x: long.TryParse(OffsetString), "-1" when the offset is not a long (geo-replication). */
export function numericOffset(offset: string): string {
  return /^-?\d+$/.test(offset) && BigInt(offset) <= 2n ** 63n - 1n && BigInt(offset) >= -(2n ** 63n)
    ? String(BigInt(offset))
    : '-1';
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

/** A UTC DateTimeOffset as Newtonsoft writes it: trailing fraction zeros trimmed, +00:00. */
function dotNetDateTimeOffset(date: Date): string {
  return `${dotNetDateTime(date)}+00:00`;
}

/** DateTimeOffset.ToString("o"): seven fraction digits and an explicit +00:00. */
function roundTripTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, (_match, ms: string) => `.${ms}0000+00:00`);
}
