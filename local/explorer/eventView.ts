// Received events as the page shows them: coordinates, content type, application and system
// properties, and the body exactly as stored (the receivers skip the SDK's JSON parsing, so a data
// section arrives as its bytes). The page decides how to render it (pretty JSON, text or hex).
import type { PartitionProperties, ReceivedEventData } from '@azure/event-hubs';
import { isUtf8 } from 'node:buffer';
import type { BodyView, EventView, PartitionView } from './api';

export function toEventView(partitionId: string, event: ReceivedEventData): EventView {
  return {
    partitionId,
    sequenceNumber: event.sequenceNumber,
    offset: String(event.offset),
    enqueuedTimeUtc: event.enqueuedTimeUtc.toISOString(),
    partitionKey: event.partitionKey ?? null,
    contentType: event.contentType ?? null,
    messageId: event.messageId === undefined ? null : String(event.messageId),
    correlationId: event.correlationId === undefined ? null : String(event.correlationId),
    properties: jsonSafe(event.properties ?? {}) as Record<string, unknown>,
    systemProperties: jsonSafe(event.systemProperties ?? {}) as Record<string, unknown>,
    body: bodyView(event.body),
  };
}

export function bodyView(body: unknown): BodyView {
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const utf8 = isUtf8(bytes);
    return {
      kind: 'bytes',
      encoding: utf8 ? 'utf8' : 'base64',
      text: bytes.toString(utf8 ? 'utf8' : 'base64'),
      byteLength: bytes.length,
    };
  }
  return { kind: 'amqpValue', json: JSON.stringify(jsonSafe(body)) ?? 'null' };
}

export function toPartitionView(properties: PartitionProperties): PartitionView {
  const { beginningSequenceNumber: first, lastEnqueuedSequenceNumber: last, isEmpty } = properties;
  const time = properties.lastEnqueuedOnUtc;
  return {
    partitionId: properties.partitionId,
    beginningSequenceNumber: first,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedOffset: String(properties.lastEnqueuedOffset),
    lastEnqueuedOnUtc: time instanceof Date && !isNaN(time.getTime()) && !isEmpty ? time.toISOString() : null,
    isEmpty,
    retainedEvents: isEmpty ? 0 : Math.max(0, last - first + 1),
  };
}

/** Property values the SDK decodes (Dates, Buffers, Longs as numbers) in a form JSON keeps. */
function jsonSafe(value: unknown, depth = 0): unknown {
  if (depth > 32) return '[too deep]';
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array)
    return { $bytes: Buffer.from(value).toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((item) => jsonSafe(item, depth + 1));
  if (typeof value === 'object' && value !== null) {
    // Null prototype: a property named __proto__ stays a property.
    const result: Record<string, unknown> = Object.create(null);
    for (const [key, item] of Object.entries(value)) result[key] = jsonSafe(item, depth + 1);
    return result;
  }
  return value;
}
