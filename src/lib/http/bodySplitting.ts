// One event body per event from a request body: the body itself for text and bytes, each JSON value's
// exact source text for JSON (a top-level array is an envelope of events) and NDJSON (one per line).
import { isAscii, isUtf8 } from 'node:buffer';
import { HttpError } from './httpErrors';
import { JsonDepthError, JsonElementCountError, JsonSyntaxError } from './jsonErrors';
import { scanJson } from './jsonSyntax';
import type { BodyFormat } from './requestParsing';

/**
 * Deepest nesting of arrays and objects accepted in one JSON event. 64 is the default MaxDepth of
 * Newtonsoft.Json 13 (which the Functions host uses to bind Event Hubs events when no dataType is
 * declared) and of System.Text.Json; deeper events would fail consumers that parse them, or overflow
 * the stack of recursive code such as JSON.stringify.
 */
export const MAX_EVENT_DEPTH = 64;

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
