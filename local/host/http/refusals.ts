// Requests the host refuses before (or instead of) running a function. The status is the one Kestrel
// answers (KestrelBadHttpRequestException.cs maps each rejection reason to it); Kestrel sends those with
// an empty body, the local host with a JSON body saying why, so a developer is not left guessing
// (docs/fidelity.md). The connection is closed afterwards, as Kestrel does after a bad request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

export interface HostRefusal {
  status: number;
  code: string;
  message: string;
}

export function refusal(status: number, code: string, message: string): HostRefusal {
  return { status, code, message };
}

function jsonBody(refused: HostRefusal): Buffer {
  return Buffer.from(
    JSON.stringify({ error: { code: refused.code, message: refused.message, source: 'host' } }),
  );
}

/** How long the rest of a refused request's body is read and discarded before the socket is dropped. */
const DISCARD_MS = 5_000;

/**
 * Answers through the exchange's response, then closes the connection. The rest of the body is read
 * and discarded first (for a few seconds at most): a client still sending would otherwise get a reset
 * instead of the answer.
 */
export function writeRefusal(req: IncomingMessage, res: ServerResponse, refused: HostRefusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const socket = req.socket;
  res.once('finish', () => {
    if (req.complete || req.destroyed) {
      socket.end();
      return;
    }
    req.once('end', () => socket.end());
    req.resume();
    setTimeout(() => socket.destroy(), DISCARD_MS).unref();
  });
  const body = jsonBody(refused);
  res.writeHead(refused.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
  });
  res.end(body);
}

/** Answers on a socket that has no response object (a request Node's parser refused). */
export function writeRawRefusal(socket: Socket, refused: HostRefusal | { status: number }): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = 'code' in refused ? jsonBody(refused) : Buffer.alloc(0);
  const head = [
    `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status] ?? ''}`,
    ...(body.length > 0 ? ['Content-Type: application/json; charset=utf-8'] : []),
    `Content-Length: ${body.length}`,
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}
