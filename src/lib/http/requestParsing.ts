// Turns a POST /api/events request into the events to publish and their routing, or an HttpError that
// says precisely what is wrong. Nothing here talks to Event Hubs.
import type { EventData } from '@azure/event-hubs';
import type { HttpRequest } from '@azure/functions';
import { isAscii, isUtf8 } from 'node:buffer';
import { HttpError } from './httpErrors';
import { JsonDepthError, JsonElementCountError, JsonSyntaxError, scanJson } from './jsonSyntax';
import type { Routing } from '../publish/publisher';
import type { PublisherSettings } from '../settings';

export const CONTENT_TYPES = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  text: 'text/plain',
  bytes: 'application/octet-stream',
} as const;
type BodyFormat = keyof typeof CONTENT_TYPES;
export const ACCEPTED_CONTENT_TYPES: readonly string[] = Object.values(CONTENT_TYPES);

/** JSON object of application properties applied to every event of the request. */
export const EVENT_PROPERTIES_HEADER = 'x-event-properties';

export type EventProperties = Record<string, string | number | boolean>;

/**
 * Deepest nesting of arrays and objects accepted in one JSON event. 64 is the default MaxDepth of
 * Newtonsoft.Json 13 (which the Functions host uses to bind Event Hubs events when no dataType is
 * declared) and of System.Text.Json; deeper events would fail consumers that parse them, or overflow
 * the stack of recursive code such as JSON.stringify.
 */
export const MAX_EVENT_DEPTH = 64;

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

export async function readBody(request: HttpRequest, maxRequestBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, 'request_too_large', `The request body is larger than ${maxRequestBytes} bytes.`, {
      maxRequestBytes,
    });
  const contentLength = request.headers.get('content-length');
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > maxRequestBytes) throw tooLarge();
  if (request.body === null) {
    // The Functions host passes a body only when the request declares its length (host #7930,
    // nodejs-worker #524): a chunked upload would otherwise look like an empty one.
    if (contentLength === null) throw lengthRequired(request.headers.get('transfer-encoding'));
    return Buffer.alloc(0);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxRequestBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  // A buffered request arrives as one chunk (the library's Request holds the body as one array): its
  // bytes are used where they are, not copied again.
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

function lengthRequired(transferEncoding: string | null): HttpError {
  const how =
    transferEncoding === null
      ? 'without a Content-Length header'
      : `with Transfer-Encoding ${JSON.stringify(transferEncoding.slice(0, 40))}`;
  return new HttpError(
    411,
    'length_required',
    `The request was sent ${how}; the Functions host passes no body without one. Send the body with a Content-Length header (buffer it instead of streaming it).`,
  );
}

/** One body per event: bytes as received for text and binary, each JSON value's exact source text for JSON. */
export function splitEvents(format: BodyFormat, body: Buffer, maxEvents = Infinity): Buffer[] {
  if (body.length === 0) throw new HttpError(400, 'empty_body', 'The request body is empty.');
  if (format === 'bytes') return [body];
  const text = decodeUtf8(body);
  if (format === 'text') return [body];
  if (text.trim() === '')
    throw new HttpError(400, 'empty_body', 'The request body contains only whitespace.');
  return format === 'json' ? splitJson(text, body, maxEvents) : splitNdjson(text, maxEvents);
}

function tooManyEvents(maxEvents: number): HttpError {
  return new HttpError(
    413,
    'too_many_events',
    `The request holds more than ${maxEvents} events; split it into several requests.`,
    { maxEventsPerRequest: maxEvents },
  );
}

/** `index` counts events; `where` locates the offending bracket in the body (line, column, position). */
function tooDeep(
  maxDepth: number,
  index: number,
  where: { line: number; column: number; position?: number },
): HttpError {
  return new HttpError(
    400,
    'json_too_deep',
    `Event ${index} nests arrays and objects deeper than ${maxDepth} levels (line ${where.line}, column ${where.column}); flatten it.`,
    { maxDepth, index, ...where },
  );
}

function splitJson(text: string, body: Buffer, maxEvents: number): Buffer[] {
  let scan;
  try {
    scan = scanJson(text, { maxDepth: MAX_EVENT_DEPTH, maxElements: maxEvents });
  } catch (error) {
    if (error instanceof JsonElementCountError) throw tooManyEvents(maxEvents);
    if (error instanceof JsonDepthError) {
      const where = { position: error.position, line: error.line, column: error.column };
      throw tooDeep(error.maxDepth, error.index, where);
    }
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new HttpError(400, 'invalid_json', `The body is not valid JSON: ${error.message}.`, {
      position: error.position,
      line: error.line,
      column: error.column,
    });
  }
  if (scan.isArray && scan.values.length === 0) {
    throw new HttpError(400, 'empty_array', 'The body is an empty JSON array; send at least one event.');
  }
  // In an all-ASCII body, character positions are byte positions: slice the bytes instead of re-encoding.
  const ascii = text.length === body.length;
  return scan.values.map(({ start, end }, index) => {
    if (end - start === 4 && text.startsWith('null', start))
      throw nullEvent(index, scan.isArray ? `element ${index}` : 'the body');
    return ascii ? body.subarray(start, end) : Buffer.from(text.slice(start, end), 'utf8');
  });
}

function splitNdjson(text: string, maxEvents: number): Buffer[] {
  const bodies: Buffer[] = [];
  const lines = text.split('\n');
  for (const [lineIndex, rawLine] of lines.entries()) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') continue;
    if (bodies.length >= maxEvents) throw tooManyEvents(maxEvents);
    const lineNumber = lineIndex + 1;
    let scan;
    try {
      scan = scanJson(line, { maxDepth: MAX_EVENT_DEPTH, arrayIsEnvelope: false });
    } catch (error) {
      if (error instanceof JsonDepthError) {
        throw tooDeep(error.maxDepth, bodies.length, { line: lineNumber, column: error.column });
      }
      if (!(error instanceof JsonSyntaxError)) throw error;
      throw new HttpError(
        400,
        'invalid_ndjson',
        `Line ${lineNumber} is not valid JSON: ${error.reason} at column ${error.column}.`,
        { line: lineNumber, column: error.column },
      );
    }
    const { start, end } = scan.isArray ? { start: 0, end: line.length } : scan.values[0];
    const source = line.slice(start, end).trim();
    if (source === 'null') throw nullEvent(bodies.length, `line ${lineNumber}`, { line: lineNumber });
    bodies.push(Buffer.from(source, 'utf8'));
  }
  return bodies;
}

function nullEvent(index: number, where: string, fields: Record<string, unknown> = {}): HttpError {
  return new HttpError(
    400,
    'null_event',
    `Event ${index} (${where}) is null; Functions consumers drop events without a body, so it is refused.`,
    { index, ...fields },
  );
}

function decodeUtf8(body: Buffer): string {
  // Node's native checks are many times faster than a fatal TextDecoder, and a one-byte (latin1)
  // string is the cheapest decoding of ASCII, the common case.
  if (isAscii(body)) return body.toString('latin1');
  if (!isUtf8(body)) throw new HttpError(400, 'invalid_utf8', 'The body is not valid UTF-8.');
  return body.toString('utf8');
}
