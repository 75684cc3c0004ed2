// The AMQP listeners (plain TCP, and optionally TLS and WebSockets) on one rhea container.
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { type ConnectionOptions, type Container, create_container } from 'rhea';
import { MAX_FRAME_SIZE } from './amqp/frameGuard';
import { guardInput } from './amqp/inputGuard';
import { type ServerConnection } from './amqp/rheaTypes';
import { completeFrames } from './amqp/completeFrames';
import { ignoreFramesOfEndedSessions } from './amqp/missingSessions';
import { speedUpOutput } from './amqp/transferWriter';
import { ClientConnection, type ServerContext } from './connection';
import { closeServer, listen } from './listen';
import { offerSaslMechanisms } from './sasl';
import { createWebSocketListener } from './webSocket';

/**
 * Frame and channel limits of the OPEN, with Microsoft.Azure.Amqp's defaults (Azure/azure-amqp,
 * src/AmqpConstants.cs: DefaultMaxFrameSize 64 KB, see frameGuard.ts; DefaultMaxConcurrentChannels
 * 8 K), always sent: pyamqp compares max-frame-size without applying the AMQP default
 * (azure-sdk-for-python, azure-eventhub/azure/eventhub/_pyamqp/_connection.py, _incoming_open:
 * `frame[2] < 512`).
 */
export const CHANNEL_MAX = 8 * 1024 - 1;

const CONNECTION_OPTIONS = {
  max_frame_size: MAX_FRAME_SIZE,
  channel_max: CHANNEL_MAX,
  // Clients send heartbeats at half this interval; a silent peer is dropped after twice it.
  idle_time_out: 240_000,
  // Producer transfers are settled only after the events are stored; consumer credit is managed
  // by ConsumerLink. rhea must not accept or grant credit on its own.
  receiver_options: { autoaccept: false, credit_window: 0 },
  sender_options: { autosettle: true },
  properties: { product: 'eventhubs-emulator (local)' },
};

function createContainer(): Container {
  const container = create_container({ id: 'eventhubs-emulator' });
  offerSaslMechanisms(container);
  return container;
}

export class AmqpServer {
  private readonly container = createContainer();
  private readonly clients = new Set<ClientConnection>();
  private readonly sockets = new Set<Socket>();
  private readonly servers: net.Server[] = [];

  constructor(private readonly context: ServerContext) {}

  /** Listens for plain AMQP; returns the bound port. */
  async listenPlain(host: string, port: number): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    const bound = await listen(server, host, port);
    this.servers.push(server);
    return bound;
  }

  /** Listens for AMQP over TLS (amqps); returns the bound port. */
  async listenTls(host: string, port: number, credentials: { cert: string; key: string }): Promise<number> {
    const server = tls.createServer({ cert: credentials.cert, key: credentials.key });
    server.on('secureConnection', (socket) => this.accept(socket));
    server.on('tlsClientError', (error) =>
      this.context.logger.debug(`TLS handshake failed: ${error.message}`),
    );
    const bound = await listen(server, host, port);
    this.servers.push(server);
    return bound;
  }

  /** Listens for AMQP over WebSockets, wss and ws on one port (webSocket.ts); returns the bound port. */
  async listenWebSocket(
    host: string,
    port: number,
    credentials: { cert: string; key: string },
  ): Promise<number> {
    // The stream has what accept() uses of a Socket (setNoDelay, cork, write, close events).
    const server = createWebSocketListener(
      credentials,
      (stream) => this.accept(stream as unknown as Socket),
      this.context.logger,
    );
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const bound = await listen(server, host, port);
    this.servers.push(server);
    return bound;
  }

  /** Stops listening and closes every client connection. */
  async close(): Promise<void> {
    const closing = this.servers.map(closeServer);
    for (const client of [...this.clients]) client.close();
    // Give close frames a moment to leave, then cut what is left.
    await new Promise((resolve) => setTimeout(resolve, this.sockets.size ? 100 : 0));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const connection = this.container.create_connection(
      CONNECTION_OPTIONS as unknown as ConnectionOptions,
    ) as ServerConnection;
    const client = new ClientConnection(connection, this.context, (ended) => this.clients.delete(ended));
    guardInput(connection, this.context.logger, client.id);
    ignoreFramesOfEndedSessions(connection, (what) => this.context.logger.debug(`${client.id}: ${what}`));
    this.clients.add(client);
    connection.accept(socket);
    completeFrames(connection);
    speedUpOutput(connection, socket);
  }
}
