// One client connection: routes each link the client attaches to $cbs, $management, a producer
// link or a consumer link, checks that a token covers it, and cleans up when links, sessions or
// the connection end.
import { type Delivery, type EventContext, type Message, type Receiver, type Sender, types } from 'rhea';
import { type ServerConnection, type ServerReceiver, type ServerSender } from './amqp/rheaTypes';
import { completeAttachReply } from './attachReply';
import { ConnectionGrants, handlePutToken, type StatusResponse } from './cbs';
import { type NamespaceConfig } from './config';
import { attachConsumer, type ConsumerLink } from './consume';
import { parseLinkAddress } from './addresses';
import { findConsumerGroup, findHub, findPartition, isError } from './entities';
import { type AmqpError, Condition, unauthorized, wireError } from './errors';
import { type Logger } from './logger';
import { type ProducerRegistry } from './idempotence';
import { handleManagementRequest, type ManagementResponse } from './management';
import { type OwnershipRegistry } from './ownership';
import { negotiateIdempotence, PublisherLink } from './publish';
import { resourcePath, type SasKey } from './sas';
import { type EventStore } from './store/eventStore';

/** Request/response links ($cbs, $management) answer one request at a time per credit. */
const REQUEST_CREDIT = 100;
/**
 * The BEGIN reply's handle-max, always sent: pyamqp reads it by position without the AMQP default
 * (azure-eventhub/azure/eventhub/_pyamqp/session.py, _incoming_begin: `frame[4]`). The value is
 * Microsoft.Azure.Amqp's DefaultMaxLinkHandles (Azure/azure-amqp, src/AmqpConstants.cs) less one.
 */
export const HANDLE_MAX = 256 * 1024 - 1;

export interface ServerContext {
  namespace: NamespaceConfig;
  store: EventStore;
  ownership: OwnershipRegistry;
  producers: ProducerRegistry;
  sasKeys: SasKey[];
  logger: Logger;
}

type LinkHandler =
  | { kind: 'cbs' | 'management'; close(): void }
  | { kind: 'publish'; publisher: PublisherLink; close(): void }
  | { kind: 'consume'; consumer: ConsumerLink; close(): void }
  | { kind: 'reply'; close(): void };

let connectionCounter = 0;

export class ClientConnection {
  readonly id = `conn-${++connectionCounter}`;
  private readonly grants = new ConnectionGrants();
  private readonly links = new Map<Sender | Receiver, LinkHandler>();
  private ended = false;

  constructor(
    private readonly connection: ServerConnection,
    private readonly context: ServerContext,
    private readonly onEnd: (client: ClientConnection) => void,
  ) {
    const c = connection;
    c.on('connection_open', () => this.context.logger.debug(`${this.id}: open (host ${this.host})`));
    c.on('session_open', (ctx: EventContext) => {
      (ctx.session as unknown as { local: { begin: { handle_max: number } } }).local.begin.handle_max =
        HANDLE_MAX;
    });
    c.on('receiver_open', (ctx: EventContext) => this.onReceiverOpen(ctx.receiver as ServerReceiver));
    c.on('sender_open', (ctx: EventContext) => this.onSenderOpen(ctx.sender as ServerSender));
    c.on('message', (ctx: EventContext) => this.onMessage(ctx));
    c.on('sendable', (ctx: EventContext) => this.consumerOf(ctx.sender)?.pump());
    c.on('sender_draining', (ctx: EventContext) => this.consumerOf(ctx.sender)?.drain());
    for (const event of ['sender_close', 'sender_error', 'receiver_close', 'receiver_error']) {
      c.on(event, (ctx: EventContext) => this.releaseLink((ctx.sender ?? ctx.receiver)!));
    }
    for (const event of ['session_close', 'session_error']) {
      c.on(event, (ctx: EventContext) => {
        for (const link of [...this.links.keys()]) if (link.session === ctx.session) this.releaseLink(link);
      });
    }
    for (const event of ['connection_close', 'connection_error', 'disconnected'])
      c.on(event, () => this.end());
    // rhea reports here what our handlers threw (it then drops the connection): a bug, not a client fault.
    c.on('error', (error: Error) =>
      this.context.logger.error(
        `${this.id}: internal error, connection closed: ${error.stack ?? error.message}`,
      ),
    );
    c.on('protocol_error', (error: Error) =>
      this.context.logger.warn(`${this.id}: protocol error: ${error.message}`),
    );
  }

  /** The host name the client connected to, as it appears in service error messages. */
  get host(): string {
    return this.connection.remote.open?.hostname ?? 'localhost';
  }

  /** Closes the connection from the server side (emulator shutdown). */
  close(): void {
    this.connection.close(
      wireError({ condition: Condition.connectionForced, description: 'The emulator is shutting down.' }),
    );
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const link of [...this.links.keys()]) this.releaseLink(link);
    this.context.logger.debug(`${this.id}: closed`);
    this.onEnd(this);
  }

  /** The client attached a sender: we receive on $cbs, $management or a producer link. */
  private onReceiverOpen(receiver: ServerReceiver): void {
    const address = receiver.target?.address;
    const parsed = parseLinkAddress(address);
    if (parsed.kind === 'cbs' || parsed.kind === 'management') {
      acceptTerminus(receiver, receiver.source?.address, address);
      receiver.add_credit(REQUEST_CREDIT);
      this.links.set(receiver, { kind: parsed.kind, close: () => undefined });
      return;
    }
    if (parsed.kind !== 'publish') {
      return this.refuse(receiver, {
        condition: Condition.notFound,
        description: `The address '${address}' is not a sendable Event Hubs entity (use <hub> or <hub>/Partitions/<id>).`,
      });
    }
    this.attachProducer(receiver, address!, parsed.hub, parsed.partitionId);
  }

  private attachProducer(
    receiver: ServerReceiver,
    address: string,
    hubName: string,
    partitionId?: string,
  ): void {
    const hub = findHub(this.context.store, this.host, hubName);
    if (isError(hub)) return this.refuse(receiver, hub);
    const partition = partitionId === undefined ? undefined : findPartition(hub, partitionId);
    if (isError(partition)) return this.refuse(receiver, partition);
    if (!this.authorized(address)) return this.refuse(receiver, this.unauthorizedFor(address, 'Send'));
    const idempotent = negotiateIdempotence(receiver, hub, partition, this.context.producers);
    if (isError(idempotent)) return this.refuse(receiver, idempotent);
    acceptTerminus(receiver, receiver.source?.address, address);
    const publisher = new PublisherLink(receiver, hub, partition, this.context.logger, idempotent);
    const producer = idempotent?.producer;
    this.links.set(receiver, {
      kind: 'publish',
      publisher,
      close: () => producer && this.context.producers.detach(producer),
    });
    this.context.logger.debug(`${this.id}: producer attached to ${address}`);
  }

  /** The client attached a receiver: we send replies ($cbs, $management) or a partition's events. */
  private onSenderOpen(sender: ServerSender): void {
    const address = sender.source?.address;
    const parsed = parseLinkAddress(address);
    if (parsed.kind === 'cbs' || parsed.kind === 'management') {
      // The client's reply link: responses go to the link named by a request's reply-to.
      acceptTerminus(sender, address, sender.target?.address);
      this.links.set(sender, { kind: 'reply', close: () => undefined });
      return;
    }
    if (parsed.kind !== 'consume') {
      return this.refuse(sender, {
        condition: Condition.notFound,
        description: `The address '${address}' is not a receivable Event Hubs entity (use <hub>/ConsumerGroups/<group>/Partitions/<id>).`,
      });
    }
    this.attachConsumer(sender, address!, parsed);
  }

  private attachConsumer(
    sender: ServerSender,
    address: string,
    target: { hub: string; consumerGroup: string; partitionId: string },
  ): void {
    const hub = findHub(this.context.store, this.host, target.hub);
    if (isError(hub)) return this.refuse(sender, hub);
    const consumerGroup = findConsumerGroup(hub, this.context.namespace.name, target.consumerGroup);
    if (isError(consumerGroup)) return this.refuse(sender, consumerGroup);
    const partition = findPartition(hub, target.partitionId);
    if (isError(partition)) return this.refuse(sender, partition);
    if (!this.authorized(address)) return this.refuse(sender, this.unauthorizedFor(address, 'Listen'));

    const attached = attachConsumer(
      sender,
      { address, hub, consumerGroup, partition },
      {
        connectionId: this.id,
        ownership: this.context.ownership,
        logger: this.context.logger,
        refuse: (error) => this.refuse(sender, error),
      },
    );
    if (!attached) return;
    this.links.set(sender, { kind: 'consume', ...attached });
    attached.consumer.pump();
  }

  private onMessage(ctx: EventContext): void {
    const handler = this.links.get(ctx.receiver!);
    if (!handler) return;
    if (handler.kind === 'publish') return handler.publisher.onMessage(ctx);
    if (handler.kind !== 'cbs' && handler.kind !== 'management') return;
    const request = ctx.message as Message;
    const response = handler.kind === 'cbs' ? this.putToken(request) : this.readEntity(request);
    this.reply(request, ctx.receiver!, handler.kind, response);
    (ctx.delivery as Delivery).accept();
    (ctx.receiver as ServerReceiver).add_credit(1);
  }

  private putToken(request: Message): StatusResponse {
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const response = handlePutToken(
      { operation: props.operation, audience: props.name, tokenType: props.type, token: request.body },
      this.context.sasKeys,
      this.grants,
    );
    const outcome = response.statusCode < 300 ? 'accepted' : `refused (${response.statusCode})`;
    this.context.logger.debug(`${this.id}: put-token for ${String(props.name)} ${outcome}`);
    return response;
  }

  private readEntity(request: Message): ManagementResponse {
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    return handleManagementRequest(
      {
        operation: props.operation,
        name: props.name,
        type: props.type,
        partition: props.partition,
        securityToken: props.security_token,
      },
      this.context.store,
      this.context.sasKeys,
      this.grants,
      this.host,
    );
  }

  private reply(
    request: Message,
    requestLink: Receiver,
    node: 'cbs' | 'management',
    response: StatusResponse & { body?: unknown },
  ): void {
    const replyTo = request.reply_to;
    const sender = this.replyLink(replyTo, requestLink, node);
    if (!sender) {
      this.context.logger.warn(
        `${this.id}: no reply link ${replyTo ? `named '${String(replyTo)}'` : `from $${node}`}; response dropped`,
      );
      return;
    }
    const applicationProperties: Record<string, unknown> = {
      'status-code': types.wrap_int(response.statusCode),
      'status-description': response.description,
    };
    if (response.condition) applicationProperties['error-condition'] = types.wrap_symbol(response.condition);
    sender.send({
      correlation_id: request.message_id,
      ...(replyTo !== undefined && { to: replyTo }),
      application_properties: applicationProperties,
      body: response.body,
    } as Message);
  }

  /**
   * The link a response goes on: the one the request's reply-to names, or, for a request without
   * reply-to (pyamqp's $cbs and $management requests: azure-eventhub/azure/eventhub/_pyamqp/
   * management_link.py sets only message-id), the client's receiver from that node, on the
   * request's session first. Azure answers both.
   */
  private replyLink(replyTo: unknown, requestLink: Receiver, node: 'cbs' | 'management'): Sender | undefined {
    if (replyTo !== undefined && replyTo !== null) {
      return this.connection.find_sender(
        (candidate: Sender) => candidate.name === replyTo || candidate.target?.address === replyTo,
      );
    }
    const fromNode = (candidate: Sender) =>
      this.links.get(candidate)?.kind === 'reply' &&
      parseLinkAddress(candidate.source?.address).kind === node;
    return (
      this.connection.find_sender(
        (candidate: Sender) => candidate.session === requestLink.session && fromNode(candidate),
      ) ?? this.connection.find_sender(fromNode)
    );
  }

  private authorized(address: string): boolean {
    return this.grants.covers(resourcePath(address));
  }

  private unauthorizedFor(address: string, claim: 'Send' | 'Listen'): AmqpError {
    return unauthorized(
      `Unauthorized access. '${claim}' claim(s) are required to perform this operation. ` +
        `Resource: 'sb://${this.host}/${address}'. Put a SAS token for it on $cbs before attaching.`,
    );
  }

  /**
   * Refuses a link: an ATTACH reply without addresses, then a DETACH with the error (what
   * Microsoft.Azure.Amqp, under .NET, reports as the error itself; with addresses it opens the link
   * and reports only that it closed).
   */
  private refuse(link: Sender | Receiver, error: AmqpError): void {
    this.releaseLink(link);
    this.context.logger.debug(
      `${this.id}: link '${link.name}' closed: ${error.condition}: ${error.description}`,
    );
    link.close(wireError(error));
  }

  private releaseLink(link: Sender | Receiver): void {
    const handler = this.links.get(link);
    if (!handler) return;
    this.links.delete(link);
    handler.close();
  }

  private consumerOf(sender: Sender | undefined): ConsumerLink | undefined {
    const handler = sender && this.links.get(sender);
    return handler?.kind === 'consume' ? handler.consumer : undefined;
  }
}

/** Echoes a link's terminus addresses and completes the ATTACH reply. */
function acceptTerminus(
  link: Sender | Receiver,
  source: string | undefined,
  target: string | undefined,
): void {
  // rhea's typings require an address; an absent one is encoded as null either way.
  link.set_source({ address: source as string });
  link.set_target({ address: target as string });
  completeAttachReply(link);
}
