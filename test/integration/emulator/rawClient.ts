// A bare AMQP client (rhea) for what the SDKs cannot be made to send: raw put-token requests,
// standard-format messages, links without a token.
import { createHmac } from 'node:crypto';
import { type Connection, create_container, type EventContext, type Message } from 'rhea';
import { EMULATOR_KEY } from '../../support/connectionStrings';

export function sasToken(
  resource: string,
  expirySeconds = Math.floor(Date.now() / 1000) + 3600,
  key = EMULATOR_KEY,
  keyName = 'RootManageSharedAccessKey',
): string {
  const sr = encodeURIComponent(resource);
  const sig = encodeURIComponent(
    createHmac('sha256', key).update(`${sr}\n${expirySeconds}`).digest('base64'),
  );
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expirySeconds}&skn=${keyName}`;
}

export interface LinkError {
  condition: string;
  description: string;
}

export class RawClient {
  private requests = 0;

  private constructor(
    private readonly connection: Connection,
    readonly endpoint: string,
  ) {}

  static connect(port: number): Promise<RawClient> {
    const container = create_container();
    return new Promise((resolve, reject) => {
      const connection = container.connect({ host: '127.0.0.1', port, reconnect: false });
      connection.once('connection_open', () => resolve(new RawClient(connection, `sb://127.0.0.1:${port}`)));
      connection.once('disconnected', (ctx: EventContext) => reject(ctx.error ?? new Error('disconnected')));
    });
  }

  /** Sends a put-token request on $cbs and returns the response's application properties. */
  putToken(
    audience: string,
    token: string,
    type = 'servicebus.windows.net:sastoken',
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const replyTo = `cbs-reply-${++this.requests}`;
      const receiver = this.connection.open_receiver({ source: { address: '$cbs' }, name: replyTo });
      receiver.once('message', (ctx: EventContext) =>
        resolve((ctx.message as Message).application_properties!),
      );
      const sender = this.connection.open_sender({ target: { address: '$cbs' } });
      sender.once('sendable', () =>
        sender.send({
          message_id: `request-${this.requests}`,
          reply_to: replyTo,
          body: token,
          application_properties: { operation: 'put-token', name: audience, type },
        }),
      );
    });
  }

  /** Attaches a sender; resolves with its attach properties and a function to send on it. */
  openSender(
    address: string,
    options: { desired_capabilities?: string[]; properties?: Record<string, unknown> } = {},
  ): Promise<{
    properties: Record<string, unknown>;
    send(message: Message): Promise<'accepted' | LinkError>;
  }> {
    return new Promise((resolve, reject) => {
      const sender = this.connection.open_sender({ target: { address }, ...options });
      const outcomes = new Map<number, (outcome: 'accepted' | LinkError) => void>();
      sender.on('accepted', (ctx: EventContext) => outcomes.get(ctx.delivery!.id)?.('accepted'));
      sender.on('rejected', (ctx: EventContext) =>
        outcomes.get(ctx.delivery!.id)?.((ctx.delivery!.remote_state as { error: LinkError }).error),
      );
      sender.once('sender_error', (ctx: EventContext) => reject(ctx.sender!.error));
      sender.once('sendable', () =>
        resolve({
          properties: (sender.properties ?? {}) as Record<string, unknown>,
          send: (message) => new Promise((settled) => outcomes.set(sender.send(message).id, settled)),
        }),
      );
    });
  }

  /** Sends one standard-format message and resolves with the outcome. */
  send(address: string, message: Message): Promise<'accepted' | LinkError> {
    return new Promise((resolve) => {
      const sender = this.connection.open_sender({ target: { address } });
      sender.once('sendable', () => sender.send(message));
      sender.once('accepted', () => resolve('accepted'));
      sender.once('rejected', (ctx: EventContext) =>
        resolve((ctx.delivery!.remote_state as { error: LinkError }).error),
      );
      sender.once('sender_error', (ctx: EventContext) => resolve(ctx.sender!.error as LinkError));
    });
  }

  /**
   * Attaches a receiver with `credit` and resolves with the bodies delivered: with `drain`, when
   * the server reports the credit drained; otherwise once `expected` bodies have arrived and a
   * later request on the same connection has been answered, so that anything the server sent
   * before its answer (more events than credit, say) has arrived too.
   */
  receiveWithCredit(
    address: string,
    credit: number,
    options: { drain: true } | { expected: number },
  ): Promise<{ bodies: unknown[]; drained: boolean }> {
    return new Promise((resolve, reject) => {
      const bodies: unknown[] = [];
      const guard = setTimeout(
        () => reject(new Error(`receiveWithCredit: ${bodies.length} bodies, nothing else happened`)),
        15_000,
      );
      const done = (drained: boolean) => {
        clearTimeout(guard);
        resolve({ bodies: [...bodies], drained });
      };
      const receiver = this.connection.open_receiver({ source: { address }, credit_window: 0 });
      receiver.on('message', (ctx: EventContext) => {
        bodies.push((ctx.message as Message).body);
        if ('expected' in options && bodies.length === options.expected) {
          const audience = `${this.endpoint}/${address}`;
          void this.putToken(audience, sasToken(audience)).then(() => done(false));
        }
      });
      receiver.once('receiver_open', () => {
        receiver.add_credit(credit);
        if ('drain' in options) receiver.drain_credit();
      });
      receiver.once('receiver_drained', () => done(true));
    });
  }

  /** Attaches a receiver and resolves with the error the server closes it with. */
  attachReceiver(address: string): Promise<LinkError | undefined> {
    return new Promise((resolve) => {
      const receiver = this.connection.open_receiver({ source: { address } });
      receiver.once('receiver_error', (ctx: EventContext) => resolve(ctx.receiver!.error as LinkError));
      receiver.once('receiver_close', () => resolve(undefined));
    });
  }

  close(): void {
    this.connection.close();
  }
}
