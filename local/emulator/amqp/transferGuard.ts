// Deliveries as a client transfers them, checked frame by frame before rhea assembles them.
//
// rhea (3.0.5) concatenates every frame of a delivery until the last, with no limit, delivers an
// aborted delivery as if it were complete, and decodes standard-format (0) messages with a decoder
// that trusts the bytes. Here, for every link on which the emulator receives:
// - a delivery is refused as soon as its bytes exceed the link's max-message-size (AMQP 1.0 part 2,
//   2.7.3): it is rejected there and then with amqp:link:message-size-exceeded, as Event Hubs
//   answers (a settled rejected disposition: the uamqp trace in Azure/azure-event-hubs-python#106),
//   and the rest of it is dropped as it arrives; the link carries on;
// - a delivery that starts without link credit detaches the link with
//   amqp:link:transfer-limit-exceeded (2.6.7; Microsoft.Azure.Amqp src/AmqpLink.cs,
//   AmqpTransferLimitExceeded, which closes the link);
// - an aborted delivery is discarded, implicitly settled (2.7.5 transfer, aborted;
//   src/ReceivingAmqpLink.cs, OnProcessTransfer);
// - a format-0 message is checked whole (messageFormat.ts) before rhea decodes it; a malformed one
//   is rejected with amqp:decode-error, and the link carries on.
// - a disposition covers at most 65,536 deliveries, and only deliveries the emulator has sent.
// Every refused delivery is still counted as rhea counts transfers and deliveries, so the session
// and the link stay in step with the client, and its credit is given back.
import { AmqpFormatError } from './codec';
import { readMessage } from './messageFormat';
import { ClientFault, FaultCondition } from './clientFaults';
import {
  type DispositionFrame,
  type GuardedConnection,
  type GuardedLink,
  type IncomingDelivery,
  type TransferFrame,
} from './rheaTypes';

/** The size limit for links that announce none ($cbs, $management): the emulator's message limit. */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

/** Far more deliveries than a session holds unsettled (rhea's buffer is 2048). */
const MAX_DISPOSITION_RANGE = 65536;

export const LinkCondition = {
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
  transferLimitExceeded: 'amqp:link:transfer-limit-exceeded',
  decodeError: 'amqp:decode-error',
} as const;

export interface TransferEvents {
  /** The emulator detached a link for what the client sent on it. */
  linkRefused(link: GuardedLink, condition: string, description: string): void;
  /** A delivery was rejected or discarded; the link carries on. */
  deliveryRefused(link: GuardedLink, description: string): void;
  /** An exception in the guard's own code (not the client's doing). */
  internalError(error: unknown): void;
}

interface InProgress {
  format: number;
  bytes: number;
  /** Dropped as it arrives: the rest of the delivery is counted but not kept. */
  dropped: boolean;
}

type Decision =
  | { kind: 'pass' }
  | { kind: 'drop' } // the rest of a refused delivery, or one on a link the emulator detached
  | { kind: 'discard' } // aborted: settled without an answer
  | { kind: 'reject'; condition: string; description: string };

export function guardTransfers(connection: GuardedConnection, events: TransferEvents): void {
  const rheaOnTransfer = connection.on_transfer.bind(connection);
  const inProgress = new WeakMap<GuardedLink, InProgress>();

  connection.on_transfer = (frame: TransferFrame) => {
    let link: GuardedLink | undefined;
    let decision: Decision = { kind: 'pass' };
    try {
      link = connection.remote_channel_map[frame.channel]?.remote.handles[frame.performative.handle];
      // rhea itself refuses transfers on unknown or sending links and after a detach.
      if (link && link.is_receiver() && link.is_remote_open()) decision = decide(link, frame);
    } catch (error) {
      events.internalError(error);
      throw error;
    }
    if (!link || decision.kind === 'pass') return rheaOnTransfer(frame);
    const ends = !frame.performative.more || decision.kind === 'discard';
    // rhea counts the transfer (and the delivery, if it starts one) but keeps it incomplete and empty.
    frame.payload = undefined;
    frame.performative.more = true;
    rheaOnTransfer(frame);
    const delivery = link._incomplete;
    if (delivery) delivery.frames = [];
    if (decision.kind === 'reject') {
      delivery?.reject({ condition: decision.condition, description: decision.description });
      events.deliveryRefused(link, `delivery refused: ${decision.condition}: ${decision.description}`);
    } else if (decision.kind === 'discard') {
      events.deliveryRefused(link, 'an aborted delivery was discarded');
    }
    if (!ends) return;
    inProgress.delete(link);
    finishUndelivered(link, delivery);
    if (link.is_open()) link.add_credit(1);
  };

  const rheaOnDisposition = connection.on_disposition.bind(connection);
  connection.on_disposition = (frame: DispositionFrame) => {
    const { role, first } = frame.performative;
    const last = frame.performative.last ?? first;
    // rhea visits every id in the range, and drops a delivery settled before it was sent, after
    // which nothing more is sent on that session ("Next pending delivery not found").
    if (last - first >= MAX_DISPOSITION_RANGE) {
      throw new ClientFault(FaultCondition.invalidField, `a disposition of deliveries ${first} to ${last}`);
    }
    const sent = connection.remote_channel_map[frame.channel]?.outgoing.next_pending_delivery;
    if (role && sent !== undefined && last >= sent) {
      throw new ClientFault(
        FaultCondition.illegalState,
        `a disposition for delivery ${last}, which the emulator has not sent (it has sent ${sent})`,
      );
    }
    return rheaOnDisposition(frame);
  };

  function decide(link: GuardedLink, frame: TransferFrame): Decision {
    const transfer = frame.performative;
    let current = inProgress.get(link);
    if (!current) {
      current = { format: transfer.message_format ?? 0, bytes: 0, dropped: false };
      inProgress.set(link, current);
      if (!link.is_open()) {
        current.dropped = true; // the emulator detached the link; the client has not yet heard
      } else if (link.credit <= 0 && !transfer.aborted) {
        current.dropped = true;
        const description = `A delivery arrived on '${link.name}' without link credit.`;
        link.close({ condition: LinkCondition.transferLimitExceeded, description });
        events.linkRefused(link, LinkCondition.transferLimitExceeded, description);
      }
    }
    if (transfer.aborted) return { kind: 'discard' };
    if (current.dropped) return { kind: 'drop' };
    current.bytes += frame.payload?.length ?? 0;
    const limit = maxMessageSize(link);
    if (current.bytes > limit) {
      current.dropped = true;
      const id = link._incomplete?.id ?? transfer.delivery_id;
      return {
        kind: 'reject',
        condition: LinkCondition.messageSizeExceeded,
        description:
          `The received message (delivery-id:${id}, size:${current.bytes} bytes) exceeds the limit ` +
          `(${limit} bytes) currently allowed on the link.`,
      };
    }
    if (transfer.more) return { kind: 'pass' };
    inProgress.delete(link);
    if (current.format !== 0) return { kind: 'pass' }; // the emulator parses other formats itself
    const held = link._incomplete?.frames ?? [];
    const message = held.length ? Buffer.concat([...held, frame.payload ?? EMPTY]) : frame.payload;
    try {
      if (message?.length) readMessage(message);
    } catch (error) {
      if (!(error instanceof AmqpFormatError)) throw error;
      return {
        kind: 'reject',
        condition: LinkCondition.decodeError,
        description: `The message could not be decoded: ${error.message}`,
      };
    }
    return { kind: 'pass' };
  }
}

function maxMessageSize(link: GuardedLink): number {
  const announced = Number(link.local.attach.max_message_size ?? 0);
  return announced > 0 ? announced : DEFAULT_MAX_MESSAGE_SIZE;
}

/** What rhea does when a delivery completes, without decoding it or handing it to the emulator. */
function finishUndelivered(link: GuardedLink, delivery: IncomingDelivery | undefined): void {
  link._incomplete = undefined;
  if (link.credit > 0) link.credit--;
  link.delivery_count++;
  if (!delivery) return;
  delete delivery.frames;
  // Settled without an answer unless refused above, so rhea can let go of it.
  if (!delivery.settled) {
    delivery.settled = true;
    delivery.remote_settled = true;
  }
}

const EMPTY = Buffer.alloc(0);
