// HTTP/1.1 spoken byte by byte over a socket, for requests no HTTP client will send: a body longer or
// shorter than its Content-Length, bad Host headers, methods fetch refuses, pipelined garbage.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete responses at the start of `data` (with a Content-Length, or chunked). */
export function parseResponses(data: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return responses;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    const afterHead = rest.subarray(end + 4);
    if (headers['transfer-encoding'] === 'chunked') {
      const chunked = dechunk(afterHead);
      if (!chunked) return responses;
      responses.push({ status, headers, body: chunked.body.toString('utf8') });
      rest = afterHead.subarray(chunked.consumed);
      continue;
    }
    const length = Number(headers['content-length'] ?? 0);
    if (afterHead.length < length) return responses;
    responses.push({ status, headers, body: afterHead.subarray(0, length).toString('utf8') });
    rest = afterHead.subarray(length);
  }
}

/** A complete chunked body at the start of `data`, or undefined while it is still arriving. */
function dechunk(data: Buffer): { body: Buffer; consumed: number } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return undefined;
    if (size === 0) return { body: Buffer.concat(parts), consumed: start + 2 };
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

export interface RawExchangeOptions {
  /** Stop once this many complete responses arrived (default 1); also stops when the host closes. */
  responses?: number;
  /** Written after the first response arrived (bytes a client sends later on the same connection). */
  thenWrite?: string;
  /** Half-close the connection after writing (the client sends FIN, still reading). */
  halfClose?: boolean;
  timeoutMs?: number;
}

/** Sends `request` on a fresh connection; resolves with the responses and whether the host closed it. */
export function rawExchange(
  port: number,
  request: string | Buffer,
  options: RawExchangeOptions = {},
): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const wanted = options.responses ?? 1;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let wroteLater = false;
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no ${wanted} response(s) within ${options.timeoutMs ?? 15_000} ms: ${data.toString('latin1')}`,
        ),
      );
    }, options.timeoutMs ?? 15_000);
    const finish = (closed: boolean) => {
      clearTimeout(deadline);
      socket.destroy();
      resolve({ responses: parseResponses(data), closed });
    };
    socket.on('connect', () => {
      socket.write(request);
      if (options.halfClose) socket.end();
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const count = parseResponses(data).length;
      if (options.thenWrite !== undefined && !wroteLater && count >= 1) {
        wroteLater = true;
        socket.write(options.thenWrite);
      }
      if (count >= wanted) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/** A request head with CRLF line ends; `body` is appended as given. */
export function rawRequest(lines: string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)]);
}
