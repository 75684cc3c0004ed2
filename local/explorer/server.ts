// The explorer's HTTP server (127.0.0.1 only): the page's three files and the JSON API under /api/.
// Every request passes guard.ts first; a refused one gets 403 and reaches no route. Responses carry
// a Content-Security-Policy that lets the page load and connect to this origin only, and forbid
// framing (a page elsewhere cannot overlay it to make the developer click its buttons).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ActionResult,
  CheckpointView,
  DeadLetterView,
  EventPage,
  LogEntry,
  MetricsSample,
  Overview,
  PartitionView,
  SendResult,
  StartPosition,
  StatusView,
} from './api';
import type { PageAssets } from './bundle';
import { checkRequest } from './guard';
import { ExplorerError, MAX_PAGE_SIZE } from './hub';
import type { EventStream } from './stream';

export interface ExplorerBackend {
  overview(): Promise<Overview>;
  partitions(): Promise<PartitionView[]>;
  peek(partitionId: string, from: StartPosition, count: number): Promise<EventPage>;
  log(afterId: number): LogEntry[];
  metrics(): MetricsSample[];
  status(): StatusView;
  checkpoints(): Promise<CheckpointView[]>;
  deadLetters(): Promise<DeadLetterView[]>;
  send(body: unknown): Promise<SendResult>;
  replay(blob: string): Promise<ActionResult>;
  remove(blob: string): Promise<ActionResult>;
  stream: EventStream;
}

/** Larger than any body the app takes (4 MiB by default), written as hex. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export async function listenExplorer(
  backend: ExplorerBackend,
  assets: PageAssets,
  port: number,
): Promise<{ server: Server; port: number }> {
  let boundPort = port;
  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const verdict = checkRequest(request.method, request.headers, boundPort, request.rawHeaders);
    if (!verdict.allowed) {
      request.resume();
      if (verdict.status === 405) response.setHeader('allow', 'GET, HEAD, POST');
      return sendJson(response, verdict.status, { error: { code: 'refused', message: verdict.message } });
    }
    route(backend, assets, request, response).catch((error: unknown) => {
      const known = error instanceof ExplorerError;
      const status = known ? error.status : 502;
      const message = error instanceof Error ? error.message : String(error);
      if (response.headersSent) return response.end();
      sendJson(response, status, { error: { code: known ? error.code : 'upstream_failed', message } });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;
  return { server, port: boundPort };
}

async function route(
  backend: ExplorerBackend,
  assets: PageAssets,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://explorer');
  const path = url.pathname;
  const asset = assets[path === '/index.html' ? '/' : path];
  if (request.method === 'POST') {
    const body = await readJson(request);
    if (path === '/api/send') return sendJson(response, 200, await backend.send(body));
    if (path === '/api/dead-letters/replay')
      return sendJson(response, 200, await backend.replay(blobOf(body)));
    if (path === '/api/dead-letters/delete')
      return sendJson(response, 200, await backend.remove(blobOf(body)));
    throw new ExplorerError(404, 'not_found', `No POST ${path}`);
  }
  if (asset) {
    response.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' });
    return void response.end(request.method === 'HEAD' ? undefined : asset.body);
  }
  if (path === '/api/stream') return backend.stream.add(response);
  if (path === '/api/overview') return sendJson(response, 200, await backend.overview());
  if (path === '/api/status') return sendJson(response, 200, backend.status());
  if (path === '/api/partitions') return sendJson(response, 200, await backend.partitions());
  const events = /^\/api\/partitions\/([^/]+)\/events$/.exec(path);
  if (events) {
    const count = Math.min(MAX_PAGE_SIZE, integer(url.searchParams.get('count') ?? '20', 'count', 1));
    const page = await backend.peek(decodeURIComponent(events[1]), startPosition(url.searchParams), count);
    return sendJson(response, 200, page);
  }
  if (path === '/api/log') {
    return sendJson(response, 200, backend.log(integer(url.searchParams.get('after') ?? '0', 'after', 0)));
  }
  if (path === '/api/metrics') return sendJson(response, 200, backend.metrics());
  if (path === '/api/checkpoints') return sendJson(response, 200, await backend.checkpoints());
  if (path === '/api/dead-letters') return sendJson(response, 200, await backend.deadLetters());
  throw new ExplorerError(404, 'not_found', `No GET ${path}`);
}

/** `?from=earliest|latest|sequence|time&value=<sequence number or ISO time>`. */
export function startPosition(query: URLSearchParams): StartPosition {
  const from = query.get('from') ?? 'latest';
  const value = query.get('value') ?? '';
  if (from === 'earliest' || from === 'latest') return { kind: from };
  if (from === 'sequence') return { kind: 'sequence', sequenceNumber: integer(value, 'value', 0) };
  if (from === 'time') {
    // A time without a zone is UTC, as everything the page shows is.
    const zoned =
      /(?:Z|[+-]\d\d:?\d\d)$/i.test(value) || !/\d:\d/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    const time = Date.parse(zoned);
    if (isNaN(time))
      throw new ExplorerError(400, 'invalid_position', `value must be a date and time, got "${value}"`);
    return { kind: 'time', enqueuedOn: new Date(time).toISOString() };
  }
  throw new ExplorerError(400, 'invalid_position', 'from must be earliest, latest, sequence or time');
}

function integer(text: string, name: string, minimum: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum)
    throw new ExplorerError(400, 'invalid_query', `${name} must be an integer of at least ${minimum}`);
  return value;
}

function blobOf(body: unknown): string {
  const blob = (body as { blob?: unknown } | null)?.blob;
  if (typeof blob !== 'string' || blob === '')
    throw new ExplorerError(400, 'invalid_blob', 'blob must be a blob name');
  return blob;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    request.resume();
    throw new ExplorerError(415, 'unsupported_media_type', 'Send application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw new ExplorerError(413, 'too_large', 'Request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ExplorerError(400, 'invalid_json', 'The request body is not JSON');
  }
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}
