// The AMQP listeners (plain TCP and optionally TLS) on one rhea container.
import net, { Socket } from 'node:net';
import tls from 'node:tls';
import { ConnectionOptions, create_container } from 'rhea';
import { guardInput } from './amqp/inputGuard';
import { ServerConnection } from './amqp/rheaTypes';
import { speedUpOutput } from './amqp/transferWriter';
import { ClientConnection, ServerContext } from './connection';
import { closeServer, listen } from './listen';

const CONNECTION_OPTIONS = {
  // Clients send heartbeats at half this interval; a silent peer is dropped after twice it.
  idle_time_out: 240_000,
  // Producer transfers are settled only after the events are stored; consumer credit is managed
  // by ConsumerLink. rhea must not accept or grant credit on its own.
  receiver_options: { autoaccept: false, credit_window: 0 },
  sender_options: { autosettle: true },
  properties: { product: 'eventhubs-emulator (local)' },
};

export class AmqpServer {
  private readonly container = create_container({ id: 'eventhubs-emulator' });
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
    this.clients.add(client);
    connection.accept(socket);
    speedUpOutput(connection, socket);
  }
}
