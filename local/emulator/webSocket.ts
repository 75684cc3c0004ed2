// AMQP over WebSockets, the transport the SDKs use behind proxies and firewalls that pass only
// HTTPS: the same AMQP byte stream, carried in binary WebSocket messages after an HTTP upgrade on
// Azure's path, and handed to the AMQP server as if it were a TCP socket. One port serves wss
// (Azure's only form; the JavaScript and Python SDKs always use it) and plain ws (what .NET dials
// when UseDevelopmentEmulator=true), told apart by the first byte the client sends.
//
// What the clients send, read off their sources:
// - JavaScript: @azure/core-amqp 4.4 (dist/commonjs/ConnectionContextBase.js) builds
//   `wss://<host>:<port ?? 443>/$servicebus/websocket` with protocol ["AMQPWSB10"] (the path from
//   @azure/event-hubs, connectionContext.js), handed to rhea's websocket_connect (lib/ws.js).
// - .NET: Azure.Messaging.EventHubs (src/Amqp/AmqpConnectionScope.cs,
//   CreateTransportSettingsForWebSockets) builds `wss://` or, for a connection endpoint without
//   TLS (UseDevelopmentEmulator=true), `ws://` + host + `/$servicebus/websocket/` (trailing slash),
//   and sets no subprotocol, so Microsoft.Azure.Amqp offers its default "amqp"
//   (Azure/azure-amqp, src/Transport/WebSocketTransportSettings.cs: WebSocketSubProtocol).
// - Python: azure-eventhub 5.11 (_configuration.py) appends `/$servicebus/websocket` to the host
//   and dials `wss://` on custom_endpoint_address's port, else 443, with protocols ["AMQPWSB10"]
//   (_pyamqp/aio/_transport_async.py WebSocketTransportAsync via aiohttp; the sync client uses
//   websocket-client, _pyamqp/_transport.py WebSocketTransport).
import http, { type IncomingMessage, STATUS_CODES } from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { type Logger } from './logger';

export const WEBSOCKET_PATH = '/$servicebus/websocket';
/** In order of preference: the AMQP WebSocket binding's name, then Microsoft.Azure.Amqp's default. */
export const WEBSOCKET_SUBPROTOCOLS = ['AMQPWSB10', 'amqp'];
/**
 * The largest WebSocket message accepted. AMQP frames are at most 64 KB here (MAX_FRAME_SIZE), and
 * the clients send one or a few frames per message; the cap bounds what one message can make the
 * emulator buffer.
 */
export const MAX_WEBSOCKET_MESSAGE = 4 * 1024 * 1024;
const TLS_HANDSHAKE_RECORD = 0x16;
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/** What AmqpServer needs of a socket: a byte stream, and setNoDelay for the TCP socket under it. */
export interface AmqpStream extends Duplex {
  setNoDelay(noDelay?: boolean): this;
}

/**
 * A TCP server that upgrades requests on WEBSOCKET_PATH, over TLS or not, and hands each WebSocket
 * to `accept` as a byte stream. Everything else gets an HTTP error that says what is served here.
 */
export function createWebSocketListener(
  credentials: { cert: string; key: string },
  accept: (stream: AmqpStream) => void,
  logger: Logger,
): net.Server {
  const webSockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WEBSOCKET_MESSAGE,
    handleProtocols: (offered) => WEBSOCKET_SUBPROTOCOLS.find((name) => offered.has(name)) ?? false,
  });
  const upgrade = (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const refusal = refusalOf(request);
    if (refusal) {
      logger.debug(`WebSocket upgrade of ${request.url} refused: ${refusal.message}`);
      refuse(socket, refusal.status, refusal.message);
      return;
    }
    webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      const scheme = (request.socket as { encrypted?: boolean }).encrypted ? 'wss' : 'ws';
      const agent = request.headers['user-agent'] ? `, ${request.headers['user-agent']}` : '';
      logger.debug(
        `WebSocket connection: ${scheme} ${request.url} (subprotocol ${webSocket.protocol}${agent})`,
      );
      accept(new WebSocketStream(webSocket, request.socket));
    });
  };
  const plainRequest = (request: IncomingMessage, response: http.ServerResponse) => {
    const onPath = isWebSocketPath(request.url);
    const status = onPath ? 426 : 404;
    response.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      connection: 'close',
      ...(onPath && { upgrade: 'websocket' }),
    });
    response.end(onPath ? `${upgradeHint()}\n` : `Not found. ${upgradeHint()}\n`);
  };
  const plain = http.createServer(plainRequest).on('upgrade', upgrade);
  const secure = https
    .createServer({ cert: credentials.cert, key: credentials.key }, plainRequest)
    .on('upgrade', upgrade)
    .on('tlsClientError', (error) => logger.debug(`WebSocket TLS handshake failed: ${error.message}`));
  return net.createServer((socket) => {
    // A connection that never says a word holds a socket; the HTTP servers time out slow headers.
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE_RECORD) {
        // The TLS socket reads what is buffered in `socket` itself.
        secure.emit('connection', socket);
      } else {
        // The HTTP parser reads the socket's handle directly; flowing again hands it the first bytes.
        plain.emit('connection', socket);
        socket.resume();
      }
    });
    socket.on('error', (error) => logger.debug(`WebSocket connection error: ${error.message}`));
  });
}

function isWebSocketPath(url: string | undefined): boolean {
  const pathname = new URL(url ?? '/', 'http://localhost').pathname;
  // .NET asks for the path with a trailing slash, the other SDKs without.
  return pathname === WEBSOCKET_PATH || pathname === `${WEBSOCKET_PATH}/`;
}

function refusalOf(request: IncomingMessage): { status: number; message: string } | undefined {
  if (!isWebSocketPath(request.url)) return { status: 404, message: `Not found. ${upgradeHint()}` };
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((name) => name.trim());
  if (!WEBSOCKET_SUBPROTOCOLS.some((name) => offered.includes(name))) {
    return {
      status: 400,
      message: `Sec-WebSocket-Protocol must offer ${WEBSOCKET_SUBPROTOCOLS.join(' or ')} (got "${offered.join(', ')}")`,
    };
  }
  return undefined;
}

function upgradeHint(): string {
  return `AMQP over WebSockets is served at ${WEBSOCKET_PATH} (subprotocol ${WEBSOCKET_SUBPROTOCOLS[0]}).`;
}

function refuse(socket: Socket, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * A WebSocket as the byte stream rhea reads and writes. Writes queued while one is in flight (or
 * while AmqpServer corks the stream for the rest of a tick) leave as one binary message; incoming
 * messages are concatenated, as AMQP frames may span messages. Back-pressure pauses the WebSocket.
 */
class WebSocketStream extends Duplex {
  constructor(
    private readonly webSocket: WebSocket,
    private readonly tcp: Socket,
  ) {
    super({ allowHalfOpen: false });
    webSocket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        webSocket.close(1003, 'AMQP over WebSockets uses binary messages');
        return;
      }
      if (!this.push(data)) webSocket.pause();
    });
    webSocket.once('close', () => this.push(null));
    webSocket.once('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.webSocket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.webSocket.send(chunk, { binary: true }, done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void): void {
    this.webSocket.send(Buffer.concat(chunks.map(({ chunk }) => chunk)), { binary: true }, done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.webSocket.close(1000);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.webSocket.readyState !== WebSocket.CLOSED) this.webSocket.terminate();
    done(error);
  }

  setNoDelay(noDelay?: boolean): this {
    this.tcp.setNoDelay(noDelay);
    return this;
  }
}
