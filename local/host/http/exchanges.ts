// One exchange per connection at a time, and what to do when Node's HTTP parser gives up on a
// connection ('clientError'). Node's own answer is a bare 400 written at once, even ahead of the
// response to a request already being handled; a body longer than its Content-Length ("[1]GARBAGE"
// with Content-Length 3) then published "[1]" while the client read that 400 and retried.
//
// Here: a request whose bytes do not frame (extra bytes after its body, a body cut short) is refused
// with a JSON 400 before its function runs, when the fault is seen first; when the function already
// runs, its answer goes out first and the fault is answered after it, as Kestrel does (it reads the
// next request only after answering the current one).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { refusal, type HostRefusal, writeRawRefusal } from './refusals';

export class Exchange {
  invoked = false;
  private refusal: HostRefusal | undefined;
  private readonly faultListeners: ((fault: HostRefusal) => void)[] = [];

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  get fault(): HostRefusal | undefined {
    return this.refusal;
  }

  onFault(listener: (fault: HostRefusal) => void): void {
    if (this.refusal) listener(this.refusal);
    else this.faultListeners.push(listener);
  }

  refuse(fault: HostRefusal): void {
    if (this.refusal) return;
    this.refusal = fault;
    for (const listener of this.faultListeners.splice(0)) listener(fault);
  }
}

/** What becomes of a connection Node's parser refused, given the code llhttp reported. */
export type ParseFailure =
  | { kind: 'refuse'; refusal: HostRefusal }
  /** Not a method llhttp knows: Kestrel accepts any token, so the host would route it (see server.ts). */
  | { kind: 'unknownMethod'; method: string; path: string };

export class ExchangeTracker {
  private readonly current = new WeakMap<Socket, Exchange>();

  begin(req: IncomingMessage, res: ServerResponse): Exchange {
    const exchange = new Exchange(req, res);
    const socket = req.socket;
    this.current.set(socket, exchange);
    const end = () => {
      if (this.current.get(socket) === exchange) this.current.delete(socket);
    };
    res.once('finish', end);
    res.once('close', end);
    return exchange;
  }

  /**
   * The 'clientError' handler. `answerUnknownMethod` answers a request line llhttp refused for its
   * method alone, on a connection with nothing in flight.
   */
  handleClientError(
    error: NodeJS.ErrnoException & { rawPacket?: Buffer },
    socket: Socket,
    answerUnknownMethod: (socket: Socket, method: string, path: string) => void,
  ): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const exchange = this.current.get(socket);
    if (exchange && !exchange.invoked) {
      exchange.refuse(framingFault(error, exchange.req));
      return;
    }
    const failure = describeParseFailure(error);
    const answer = () => {
      if (failure.kind === 'unknownMethod') answerUnknownMethod(socket, failure.method, failure.path);
      else writeRawRefusal(socket, failure.refusal);
    };
    if (exchange) exchange.res.once('finish', answer);
    else answer();
  }
}

/** The request being read when the parser failed: its bytes did not frame as announced. */
function framingFault(error: NodeJS.ErrnoException, req: IncomingMessage): HostRefusal {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? 'no body' : `a body of ${declared} bytes`;
  if (error.code === 'HPE_INVALID_EOF_STATE') {
    return refusal(
      400,
      'request_body_incomplete',
      `The connection ended before the request's ${length} had arrived; the request was not processed.`,
    );
  }
  return refusal(
    400,
    'request_framing',
    `The request announced ${length} (Content-Length) but more bytes followed that are not an HTTP ` +
      `request (${error.code ?? error.message}); the request was not processed. Send the exact Content-Length.`,
  );
}

export function describeParseFailure(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): ParseFailure {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        kind: 'refuse',
        refusal: refusal(431, 'request_headers_too_large', 'The request line and headers exceed 40 KiB.'),
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return {
        kind: 'refuse',
        refusal: refusal(408, 'request_headers_timeout', 'The request headers did not arrive within 30 s.'),
      };
    case 'HPE_INVALID_METHOD': {
      const line = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[^ \r\n]*) HTTP\/1\.[01]\r?\n/.exec(
        error.rawPacket?.toString('latin1') ?? '',
      );
      if (line) return { kind: 'unknownMethod', method: line[1], path: line[2] };
      break;
    }
  }
  return {
    kind: 'refuse',
    refusal: refusal(
      400,
      'bad_request',
      `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}: ${error.message}).`,
    ),
  };
}
