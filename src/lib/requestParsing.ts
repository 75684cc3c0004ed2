// Turns a POST /api/events request into the events to publish and their routing, or an HttpError that
// says precisely what is wrong. Nothing here talks to Event Hubs.
import type { EventData } from '@azure/event-hubs';
import type { HttpRequest } from '@azure/functions';
import { isAscii, isUtf8 } from 'node:buffer';
import { HttpError } from './httpErrors';
import { JsonSyntaxError, scanJson } from './jsonSyntax';
import type { Routing } from './publisher';

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

export interface PublishRequest {
  events: EventData[];
  routing: Routing;
}

export async function parsePublishRequest(
  request: HttpRequest,
  maxRequestBytes: number,
): Promise<PublishRequest> {
  const format = parseContentType(request.headers.get('content-type'));
  const routing = parseRouting(request.query);
  const properties = parseEventProperties(request.headers.get(EVENT_PROPERTIES_HEADER));
  const body = await readBody(request, maxRequestBytes);
  const bodies = splitEvents(format, body);
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
  const invalid = (message: string) => new HttpError(400, 'invalid_event_properties', message);
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
  const properties: EventProperties = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '') throw invalid(`The ${EVENT_PROPERTIES_HEADER} header has an empty property name.`);
    const ok =
      typeof item === 'string' ||
      typeof item === 'boolean' ||
      (typeof item === 'number' && Number.isFinite(item));
    if (!ok) {
      throw invalid(
        `Property ${JSON.stringify(key.slice(0, 100))} in ${EVENT_PROPERTIES_HEADER} must be a string, number or boolean.`,
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
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxRequestBytes) throw tooLarge();
  if (request.body === null) return Buffer.alloc(0);
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
  return Buffer.concat(chunks, total);
}

/** One body per event: bytes as received for text and binary, each JSON value's exact source text for JSON. */
export function splitEvents(format: BodyFormat, body: Buffer): Buffer[] {
  if (body.length === 0) throw new HttpError(400, 'empty_body', 'The request body is empty.');
  if (format === 'bytes') return [body];
  const text = decodeUtf8(body);
  if (format === 'text') return [body];
  if (text.trim() === '')
    throw new HttpError(400, 'empty_body', 'The request body contains only whitespace.');
  return format === 'json' ? splitJson(text, body) : splitNdjson(text);
}

function splitJson(text: string, body: Buffer): Buffer[] {
  let scan;
  try {
    scan = scanJson(text);
  } catch (error) {
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

function splitNdjson(text: string): Buffer[] {
  const bodies: Buffer[] = [];
  const lines = text.split('\n');
  for (const [lineIndex, rawLine] of lines.entries()) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') continue;
    const lineNumber = lineIndex + 1;
    let scan;
    try {
      scan = scanJson(line);
    } catch (error) {
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
