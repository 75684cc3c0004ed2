// Turns a POST /api/events request into the events to publish and their routing, or an HttpError that
// says precisely what is wrong: the headers and query here, the body read in requestBody.ts and split
// into events in bodySplitting.ts. Nothing here talks to Event Hubs.
import type { EventData } from '@azure/event-hubs';
import type { HttpRequest } from '@azure/functions';
import { splitEvents } from './bodySplitting';
import { HttpError } from './httpErrors';
import { readBody } from './requestBody';
import type { Routing } from '../publish/publisher';
import type { PublisherSettings } from '../settings';

export const CONTENT_TYPES = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  text: 'text/plain',
  bytes: 'application/octet-stream',
} as const;
export type BodyFormat = keyof typeof CONTENT_TYPES;
export const ACCEPTED_CONTENT_TYPES: readonly string[] = Object.values(CONTENT_TYPES);

/** JSON object of application properties applied to every event of the request. */
export const EVENT_PROPERTIES_HEADER = 'x-event-properties';

export type EventProperties = Record<string, string | number | boolean>;

export type RequestLimits = Pick<PublisherSettings, 'maxRequestBytes' | 'maxEventsPerRequest'>;

export interface PublishRequest {
  events: EventData[];
  routing: Routing;
}

export async function parsePublishRequest(
  request: HttpRequest,
  limits: RequestLimits,
): Promise<PublishRequest> {
  const format = parseContentType(request.headers.get('content-type'));
  const routing = parseRouting(request.query);
  const properties = parseEventProperties(request.headers.get(EVENT_PROPERTIES_HEADER));
  const body = await readBody(request, limits.maxRequestBytes);
  const bodies = splitEvents(format, body, limits.maxEventsPerRequest);
  const contentType = format === 'ndjson' ? CONTENT_TYPES.json : CONTENT_TYPES[format];
  const events = bodies.map((eventBody): EventData =>
    properties ? { body: eventBody, contentType, properties } : { body: eventBody, contentType },
  );
  return { events, routing };
}

export function parseContentType(header: string | null): BodyFormat {
  const unsupported = (message: string) =>
    new HttpError(415, 'unsupported_media_type', message, { accepted: ACCEPTED_CONTENT_TYPES });
  if (header === null || header.trim() === '') {
    throw unsupported(`A Content-Type header is required; accepted: ${ACCEPTED_CONTENT_TYPES.join(', ')}.`);
  }
  const [mediaType, ...parameters] = header.split(';').map((part) => part.trim().toLowerCase());
  const format = (Object.keys(CONTENT_TYPES) as BodyFormat[]).find((key) => CONTENT_TYPES[key] === mediaType);
  if (format === undefined) {
    throw unsupported(
      `Content-Type ${JSON.stringify(mediaType.slice(0, 100))} is not supported; accepted: ${ACCEPTED_CONTENT_TYPES.join(', ')}.`,
    );
  }
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length);
  if (format !== 'bytes' && charset !== undefined && !['utf-8', 'utf8', '"utf-8"'].includes(charset)) {
    throw unsupported(
      `Only UTF-8 text is accepted; the request declares charset ${JSON.stringify(charset.slice(0, 40))}.`,
    );
  }
  return format;
}

export function parseRouting(query: URLSearchParams): Routing {
  const keys = query.getAll('partitionKey');
  const ids = query.getAll('partitionId');
  const invalid = (message: string) => new HttpError(400, 'invalid_routing', message);
  if (keys.length > 0 && ids.length > 0) {
    throw new HttpError(400, 'conflicting_routing', 'Give either partitionKey or partitionId, not both.');
  }
  if (keys.length > 1) throw invalid('partitionKey may be given only once.');
  if (ids.length > 1) throw invalid('partitionId may be given only once.');
  if (keys.length === 1) {
    if (keys[0] === '') throw invalid('partitionKey must not be empty.');
    return { type: 'partitionKey', partitionKey: keys[0] };
  }
  if (ids.length === 1) {
    if (ids[0] === '') throw invalid('partitionId must not be empty.');
    return { type: 'partitionId', partitionId: ids[0] };
  }
  return { type: 'roundRobin' };
}

export function parseEventProperties(header: string | null): EventProperties | undefined {
  if (header === null) return undefined;
  const invalid = (message: string, property?: string) =>
    new HttpError(
      400,
      'invalid_event_properties',
      message,
      property === undefined ? {} : { property: property.slice(0, 100) },
    );
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw invalid(
      `The ${EVENT_PROPERTIES_HEADER} header is not valid JSON; send a JSON object such as {"source":"sensor-1"}.`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`The ${EVENT_PROPERTIES_HEADER} header must be a JSON object.`);
  }
  // No prototype: a property named "__proto__" must be stored like any other, not set the prototype.
  const properties = Object.create(null) as EventProperties;
  for (const [key, item] of Object.entries(value)) {
    if (key === '') throw invalid(`The ${EVENT_PROPERTIES_HEADER} header has an empty property name.`);
    const name = JSON.stringify(key.slice(0, 100));
    if (typeof item !== 'string' && typeof item !== 'boolean' && typeof item !== 'number') {
      throw invalid(
        `Property ${name} in ${EVENT_PROPERTIES_HEADER} must be a string, number or boolean.`,
        key,
      );
    }
    // JSON.parse turns 1e400 into Infinity and rounds integers beyond 2^53; the SDK encodes integers as
    // AMQP longs, so one beyond int64 fails and one beyond 2^63 wraps its sign. Refuse both: send a string.
    if (
      typeof item === 'number' &&
      !(Number.isFinite(item) && (!Number.isInteger(item) || Number.isSafeInteger(item)))
    ) {
      throw invalid(
        `Property ${name} in ${EVENT_PROPERTIES_HEADER} is a number that does not survive as sent: numbers must be finite and integers within ±${Number.MAX_SAFE_INTEGER}; send it as a string.`,
        key,
      );
    }
    properties[key] = item;
  }
  return Object.keys(properties).length > 0 ? properties : undefined;
}
