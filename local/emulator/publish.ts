// A producer's link (<hub> or <hub>/Partitions/<id>): every transfer (a single message or a batch)
// is checked against the 1 MB limit, routed to one partition (fixed, by partition key, or round
// robin), stored atomically, and only then accepted. A producer that asks for idempotence
// negotiates it at attach and has each transfer checked against its producer sequence numbers.
import { type EventContext, message as rheaMessage, type Message } from 'rhea';
import { AmqpFormatError } from './amqp/codec';
import { parseTransfer } from './amqp/eventMessage';
import { capabilityList, type ServerReceiver } from './amqp/rheaTypes';
import { type AmqpError, Condition, messageTooLarge, wireError } from './errors';
import { IDEMPOTENT_CAPABILITY, type IdempotentProducer, type ProducerRegistry } from './idempotence';
import { isError } from './entities';
import { type Logger } from './logger';
import { partitionForKey } from './partitionKey';
import { type Hub } from './store/eventStore';
import { type Partition } from './store/partition';

export const MAX_MESSAGE_SIZE = 1024 * 1024;
/** Transfers a producer may have in flight on one link before it waits for acknowledgements. */
const LINK_CREDIT = 100;

const roundRobin = new WeakMap<Hub, number>();

/** An idempotent producer's link: the registry that checks its transfers, and its entry. */
export interface IdempotentLink {
  registry: ProducerRegistry;
  producer: IdempotentProducer;
}

/**
 * The idempotence negotiation of a producer link at attach: when the client desires the
 * capability, registers the producer (its link properties) and offers the capability back with
 * the producer's state. Undefined when the client did not ask; an error refuses the link.
 */
export function negotiateIdempotence(
  receiver: ServerReceiver,
  hub: Hub,
  partition: Partition | undefined,
  producers: ProducerRegistry,
): IdempotentLink | AmqpError | undefined {
  if (!capabilityList(receiver.desired_capabilities).includes(IDEMPOTENT_CAPABILITY)) return undefined;
  // A hub-level link is accepted too: .NET's CreateBatchAsync opens one with the capability
  // only to learn the link's max-message-size (Azure.Messaging.EventHubs, src/Amqp/
  // AmqpProducer.cs); its transfers are refused (PublisherLink), as events of an idempotent
  // producer need a partition.
  const registered = producers.attach(
    `${hub.config.name.toLowerCase()}/${partition?.id ?? '*'}`,
    (receiver.properties ?? {}) as Record<string, unknown>,
  );
  if (isError(registered)) return registered;
  receiver.local.attach.offered_capabilities = [IDEMPOTENT_CAPABILITY];
  receiver.local.attach.properties = registered.properties;
  return { registry: producers, producer: registered.producer };
}

export class PublisherLink {
  constructor(
    private readonly receiver: ServerReceiver,
    private readonly hub: Hub,
    private readonly partition: Partition | undefined,
    private readonly logger: Logger,
    private readonly idempotent?: IdempotentLink,
  ) {
    receiver.local.attach.max_message_size = MAX_MESSAGE_SIZE;
    receiver.add_credit(LINK_CREDIT);
  }

  onMessage(context: EventContext): void {
    const delivery = context.delivery!;
    const payload = Buffer.isBuffer(context.message)
      ? (context.message as Buffer)
      : // rhea decodes standard-format messages itself; re-encode to store the bytes.
        rheaMessage.encode(context.message as Message);
    const settle = (error?: { condition: string; description: string }) => {
      if (error) delivery.reject(wireError(error));
      else delivery.accept();
      // Top the credit up in steps, not per transfer: fewer flow frames for both sides.
      if (this.receiver.is_open() && this.receiver.credit <= LINK_CREDIT / 2) {
        this.receiver.add_credit(LINK_CREDIT - this.receiver.credit);
      }
    };
    if (payload.length > MAX_MESSAGE_SIZE) {
      this.logger.debug(
        `${this.hub.config.name}: refused a ${payload.length}-byte message (limit ${MAX_MESSAGE_SIZE})`,
      );
      return settle(messageTooLarge(delivery.id, payload.length, MAX_MESSAGE_SIZE));
    }
    let transfer;
    try {
      transfer = parseTransfer(payload, delivery.format);
    } catch (error) {
      if (!(error instanceof AmqpFormatError)) throw error;
      return settle({
        condition: Condition.decodeError,
        description: `The message could not be decoded: ${error.message}`,
      });
    }
    if (this.idempotent && !this.partition) {
      return settle({
        condition: Condition.argumentError,
        description: 'Events of an idempotent producer need a partition: send on <hub>/Partitions/<id>.',
      });
    }
    const partition = this.partition ?? this.route(transfer.partitionKey);
    let stored: ((error: Error | undefined) => void) | undefined;
    if (this.idempotent) {
      const { registry, producer } = this.idempotent;
      const count = transfer.events.length;
      const first = transfer.events[0].producerSequenceNumber;
      const check = registry.check(producer, first, count);
      if (check === 'duplicate') {
        // A retry of a store that may still be in flight: acknowledge it only once that is durable.
        void registry.whenStored(producer, first! + count - 1).then((isStored) =>
          settle(
            isStored
              ? undefined
              : {
                  condition: Condition.internalError,
                  description: 'The events could not be stored: an earlier attempt to store them failed.',
                },
          ),
        );
        return;
      }
      if (check !== 'store') return settle(check);
      stored = registry.beginStore(producer, first!, count);
    }
    partition.append(transfer.events, (error) => {
      stored?.(error);
      if (error) {
        this.logger.error(`${this.hub.config.name}/${partition.id}: storing events failed: ${error.message}`);
        return settle({
          condition: Condition.internalError,
          description: `The events could not be stored: ${error.message}`,
        });
      }
      settle();
    });
  }

  private route(partitionKey: string | undefined): Partition {
    const partitions = this.hub.partitions;
    if (partitionKey !== undefined) return partitions[partitionForKey(partitionKey, partitions.length)];
    const next = roundRobin.get(this.hub) ?? 0;
    roundRobin.set(this.hub, (next + 1) % partitions.length);
    return partitions[next];
  }
}
