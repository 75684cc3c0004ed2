// What the Functions host delivers to the Event Hub trigger (cardinality "many") -> one record per
// event, and each body decoded by its own content type.
//
// The trigger declares dataType "binary" (withBinaryBodies below): the host then binds byte[][] and
// sends the bodies as collection_bytes, byte for byte, dropping none (GrpcMessageConversionExtensions
// .ToRpcByteArray drops only null entries; EventData bodies are never null). Without a dataType the
// host binds object[] and runs every body through Newtonsoft, and ONE body that is not JSON fails the
// whole batch before the handler runs; with "string" it decodes bodies as UTF-8 (bytes that are not
// UTF-8 are replaced) and drops empty ones, so the body array stops lining up with the metadata. See
// docs/fidelity.md, "Event Hubs trigger".
//
// Other shapes are still read (parsed JSON, strings, {low, high} longs, offsets as numbers, times
// without a zone) so the app stays correct on a host that delivers them (triggerValues.ts). Bodies are
// decoded in bodyDecoding.ts.
import type { EventHubFunctionOptions, TriggerMetadata } from '@azure/functions';
import {
  asArray,
  asRecord,
  asScalarText,
  asString,
  rawBodyOf,
  toOffset,
  toSequenceNumber,
  toUtcIso,
} from './triggerValues';

/** Where an event sits in the hub and what came with it; everything but the body. */
export interface EventCoordinates {
  partitionId: string | null;
  sequenceNumber: number | null;
  offset: string | null;
  /** ISO 8601, UTC, with Z. */
  enqueuedTimeUtc: string | null;
  partitionKey: string | null;
  properties: Record<string, unknown>;
  /** The event's AMQP content-type (systemPropertiesArray[i]['content-type']), as the producer set it. */
  contentType: string | null;
}

/**
 * The coordinates the consumer's log lines and dead letters both record, in the order they show
 * them (the content type comes after fields of their own).
 */
export function coordinateFields(event: EventCoordinates) {
  return {
    partitionId: event.partitionId,
    sequenceNumber: event.sequenceNumber,
    offset: event.offset,
    enqueuedTimeUtc: event.enqueuedTimeUtc,
    partitionKey: event.partitionKey,
    properties: event.properties,
  };
}

/** An event as delivered, before its body is decoded. */
export interface ReceivedEvent extends EventCoordinates {
  /** The body exactly as it is in Event Hubs. */
  rawBody: Buffer;
  /** What the host handed over for this event (a Buffer with dataType binary). */
  delivered: unknown;
}

/** An event as the handler gets it. */
export interface ConsumedEvent extends EventCoordinates {
  /**
   * The body decoded by its content type: JSON (`application/json`, `*+json`) parsed, `text/*` (UTF-8)
   * as a string, anything else a Buffer. Without a content type: parsed JSON if it is JSON, else the
   * text if it is UTF-8, else a Buffer.
   */
  body: unknown;
  /** The body exactly as it is in Event Hubs. */
  rawBody: Buffer;
}

export interface TriggerBatch {
  eventHubName: string | null;
  consumerGroup: string | null;
  partitionId: string | null;
  events: ReceivedEvent[];
  /** False when the host dropped events: per-event coordinates are then unknown (null). */
  aligned: boolean;
  /** Number of events described by the metadata (delivered plus dropped). */
  metadataCount: number;
  /** Smallest and largest sequence number in the metadata: the batch's range even when not aligned. */
  firstSequenceNumber: number | null;
  lastSequenceNumber: number | null;
}

/**
 * The trigger options with `dataType: 'binary'`. @azure/functions 4.16.5 types EventHubTriggerOptions
 * without `dataType`, although the library spreads every option into the binding it registers and the
 * host reads it (azure-functions-nodejs-library #187, #340): this is the one place that adds it.
 */
export function withBinaryBodies(options: EventHubFunctionOptions): EventHubFunctionOptions {
  const binary: EventHubFunctionOptions & { dataType: 'binary' } = { ...options, dataType: 'binary' };
  return binary;
}

export function readTriggerBatch(
  messages: unknown,
  triggerMetadata: TriggerMetadata | undefined,
): TriggerBatch {
  const bodies = Array.isArray(messages) ? messages : [messages];
  const metadata = triggerMetadata ?? {};
  const partitionContext = asRecord(metadata.triggerPartitionContext ?? metadata.partitionContext);
  const partitionId = asString(partitionContext.partitionId);

  const sequenceNumbers = asArray(metadata.sequenceNumberArray);
  // Extension 6.x: offsetArray is long.TryParse(OffsetString), or -1 where offsets are not numbers.
  const offsetStrings = asArray(metadata.offsetStringArray);
  const offsets = asArray(metadata.offsetArray);
  const enqueuedTimes = asArray(metadata.enqueuedTimeUtcArray);
  const partitionKeys = asArray(metadata.partitionKeyArray);
  const properties = asArray(metadata.propertiesArray);
  const systemProperties = asArray(metadata.systemPropertiesArray);
  const metadataCount = Math.max(
    sequenceNumbers.length,
    offsets.length,
    enqueuedTimes.length,
    properties.length,
    systemProperties.length,
  );
  const aligned = metadataCount === 0 || metadataCount === bodies.length;

  const coordinate = (index: number): Omit<EventCoordinates, 'partitionId'> => {
    const system = asRecord(systemProperties[index]);
    return {
      sequenceNumber: toSequenceNumber(
        sequenceNumbers[index] ?? system.sequenceNumber ?? system['x-opt-sequence-number'],
      ),
      offset: toOffset(
        system.offsetString ??
          (offsetStrings.length === metadataCount ? offsetStrings[index] : undefined) ??
          system['x-opt-offset'] ??
          offsets[index] ??
          system.offset,
      ),
      enqueuedTimeUtc: toUtcIso(
        enqueuedTimes[index] ?? system.enqueuedTimeUtc ?? system['x-opt-enqueued-time'],
      ),
      // System properties first: the library JSON-parses partitionKeyArray's entries (key "true"
      // arrives as true), and the host drops null keys from it, so it only lines up when complete.
      partitionKey:
        asString(system.partitionKey ?? system['x-opt-partition-key']) ??
        (partitionKeys.length === metadataCount ? asScalarText(partitionKeys[index]) : null),
      properties: asRecord(properties[index]),
      contentType: typeof system['content-type'] === 'string' ? system['content-type'] : null,
    };
  };
  const unknownCoordinates: Omit<EventCoordinates, 'partitionId'> = {
    sequenceNumber: null,
    offset: null,
    enqueuedTimeUtc: null,
    partitionKey: null,
    properties: {},
    contentType: null,
  };

  const events = bodies.map((delivered, index): ReceivedEvent => ({
    partitionId,
    ...(aligned ? coordinate(index) : unknownCoordinates),
    rawBody: rawBodyOf(delivered),
    delivered,
  }));

  const allSequenceNumbers = Array.from(
    { length: metadataCount },
    (_, index) => coordinate(index).sequenceNumber,
  ).filter((value): value is number => value !== null);
  return {
    eventHubName: asString(partitionContext.eventHubName),
    consumerGroup: asString(partitionContext.consumerGroup),
    partitionId,
    events,
    aligned,
    metadataCount,
    firstSequenceNumber: allSequenceNumbers.length > 0 ? Math.min(...allSequenceNumbers) : null,
    lastSequenceNumber: allSequenceNumbers.length > 0 ? Math.max(...allSequenceNumbers) : null,
  };
}
