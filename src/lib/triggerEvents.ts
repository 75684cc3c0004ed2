// Normalises what the Functions host delivers to an Event Hub trigger with cardinality "many" into one
// record per event. The host's shapes vary (see docs/app.md): bodies arrive parsed from JSON, as plain
// strings or as Buffers; sequence numbers as numbers, strings or {low, high} longs; offsets as numbers
// or strings; enqueued times with or without a zone; and when the host drops events without a body,
// the body array is shorter than the metadata arrays and the two can no longer be paired.
import type { TriggerMetadata } from '@azure/functions';

export interface ConsumedEvent {
  body: unknown;
  partitionId: string | null;
  sequenceNumber: number | null;
  offset: string | null;
  /** ISO 8601, UTC, with Z. */
  enqueuedTimeUtc: string | null;
  partitionKey: string | null;
  properties: Record<string, unknown>;
}

export interface TriggerBatch {
  eventHubName: string | null;
  consumerGroup: string | null;
  partitionId: string | null;
  events: ConsumedEvent[];
  /** False when the host dropped empty events: per-event coordinates are then unknown (null). */
  aligned: boolean;
  /** Number of events described by the metadata (delivered plus dropped). */
  metadataCount: number;
  /** Smallest and largest sequence number in the metadata: the batch's range even when not aligned. */
  firstSequenceNumber: number | null;
  lastSequenceNumber: number | null;
}

export function readTriggerBatch(
  messages: unknown,
  triggerMetadata: TriggerMetadata | undefined,
): TriggerBatch {
  const bodies = Array.isArray(messages) ? messages : [messages];
  const metadata = triggerMetadata ?? {};
  const partitionContext = asRecord(metadata.partitionContext);
  const partitionId = asString(partitionContext.partitionId);

  const sequenceNumbers = asArray(metadata.sequenceNumberArray);
  const offsets = asArray(metadata.offsetArray);
  const enqueuedTimes = asArray(metadata.enqueuedTimeUtcArray);
  const partitionKeys = asArray(metadata.partitionKeyArray);
  const properties = asArray(metadata.propertiesArray);
  const systemProperties = asArray(metadata.systemPropertiesArray);
  const metadataCount = Math.max(
    sequenceNumbers.length,
    offsets.length,
    enqueuedTimes.length,
    partitionKeys.length,
    properties.length,
    systemProperties.length,
  );
  const aligned = metadataCount === 0 || metadataCount === bodies.length;

  const coordinate = (index: number) => {
    const system = asRecord(systemProperties[index]);
    return {
      sequenceNumber: toSequenceNumber(
        sequenceNumbers[index] ?? system.sequenceNumber ?? system['x-opt-sequence-number'],
      ),
      offset: toOffset(offsets[index] ?? system.offset ?? system['x-opt-offset']),
      enqueuedTimeUtc: toUtcIso(
        enqueuedTimes[index] ?? system.enqueuedTimeUtc ?? system['x-opt-enqueued-time'],
      ),
      // System properties first: the library JSON-parses partitionKeyArray's entries (key "true"
      // arrives as true), and the host drops null keys from it, so it only lines up when complete.
      partitionKey:
        asString(system.partitionKey ?? system['x-opt-partition-key']) ??
        (partitionKeys.length === metadataCount ? asScalarText(partitionKeys[index]) : null),
      properties: asRecord(properties[index]),
    };
  };

  const events = bodies.map((body, index): ConsumedEvent => {
    return aligned
      ? { body, partitionId, ...coordinate(index) }
      : {
          body,
          partitionId,
          sequenceNumber: null,
          offset: null,
          enqueuedTimeUtc: null,
          partitionKey: null,
          properties: {},
        };
  });

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

/** Numbers, numeric strings, bigints and {low, high} longs (as one worker version sent them). */
export function toSequenceNumber(value: unknown): number | null {
  const big = toBigInt(value);
  return big === null ? null : Number(big);
}

/** Offsets are opaque strings in Event Hubs (numeric-looking ones arrive as numbers). */
export function toOffset(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  const big = toBigInt(value);
  return big === null ? null : big.toString();
}

/** The host sends UTC times, sometimes without the trailing Z; without a zone they are read as UTC. */
export function toUtcIso(value: unknown): string | null {
  let time: number;
  if (value instanceof Date) {
    time = value.getTime();
  } else if (typeof value === 'number') {
    time = value;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    const hasZone = /(?:[zZ]|[+-]\d\d(?::?\d\d)?)$/.test(text) && /T/.test(text);
    time = Date.parse(hasZone || !/T/.test(text) ? text : `${text}Z`);
  } else {
    return null;
  }
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

function toBigInt(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : null;
  if (typeof value === 'string') return /^-?\d+$/.test(value.trim()) ? BigInt(value.trim()) : null;
  const long = asRecord(value);
  if (typeof long.low === 'number' && typeof long.high === 'number') {
    const high = long.unsigned === true ? long.high >>> 0 : long.high;
    return (BigInt(high) << 32n) + BigInt(long.low >>> 0);
  }
  return null;
}

function asScalarText(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return asString(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}
