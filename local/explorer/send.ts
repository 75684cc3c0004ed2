// The send form goes through the app's own front door, `POST /api/events` on the Functions host,
// exactly as curl would: the content type, the body bytes, `?partitionKey=` / `?partitionId=` and the
// x-event-properties header as typed. The page gets the app's answer as it came, errors included:
// the explorer validates nothing the app validates.
import type { SendRequest, SendResult } from './api';
import { ExplorerError } from './hub';

const SEND_TIMEOUT_MS = 60_000;

export function parseSendRequest(value: unknown): SendRequest {
  const input = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const text = (name: string, optional = true): string | undefined => {
    const field = input[name];
    if (field === undefined || field === null || (optional && field === '')) return undefined;
    if (typeof field !== 'string') throw new ExplorerError(400, 'invalid_send', `${name} must be a string`);
    return field;
  };
  const bodyEncoding = text('bodyEncoding') ?? 'text';
  if (bodyEncoding !== 'text' && bodyEncoding !== 'hex')
    throw new ExplorerError(400, 'invalid_send', 'bodyEncoding must be "text" or "hex"');
  return {
    contentType: text('contentType') ?? '',
    body: text('body', false) ?? '',
    bodyEncoding,
    partitionKey: text('partitionKey'),
    partitionId: text('partitionId'),
    properties: text('properties'),
  };
}

export function bodyBytes(request: SendRequest): Buffer {
  if (request.bodyEncoding === 'text') return Buffer.from(request.body, 'utf8');
  const digits = request.body.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits))
    throw new ExplorerError(400, 'invalid_hex', 'The body is not hex: pairs of 0-9 and a-f, spaces allowed');
  return Buffer.from(digits, 'hex');
}

export async function sendThroughApp(publishUrl: string, request: SendRequest): Promise<SendResult> {
  const url = new URL(publishUrl);
  // Both are passed on when both are given: refusing that combination is the app's to do.
  if (request.partitionKey !== undefined) url.searchParams.set('partitionKey', request.partitionKey);
  if (request.partitionId !== undefined) url.searchParams.set('partitionId', request.partitionId);
  const headers: Record<string, string> = {};
  if (request.contentType) headers['content-type'] = request.contentType;
  if (request.properties !== undefined) {
    // What an HTTP client can put in a header at all (fetch refuses the rest before sending).
    if (/[^\t\x20-\x7e\x80-\xff]/.test(request.properties))
      throw new ExplorerError(
        400,
        'invalid_header',
        'x-event-properties is an HTTP header: one line of Latin-1 characters (write other characters as \\u escapes in the JSON)',
      );
    headers['x-event-properties'] = request.properties;
  }
  const body = bodyBytes(request);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ExplorerError(
      502,
      'app_unreachable',
      `The app did not answer at ${url.origin}: ${(error as Error).cause ?? (error as Error).message}`,
    );
  }
  const shown = ['content-type', 'retry-after', 'allow', 'content-length'];
  const responseHeaders: Record<string, string> = {};
  for (const name of shown) {
    const value = response.headers.get(name);
    if (value !== null) responseHeaders[name] = value;
  }
  return {
    request: { method: 'POST', url: url.toString(), headers, bodyBytes: body.length },
    response: {
      status: response.status,
      statusText: response.statusText,
      headers: responseHeaders,
      body: await response.text(),
    },
  };
}
