// What the emulator's ATTACH replies carry besides the addresses: every field a strict client
// indexes, as the service sends them.
// - pyamqp reads the reply by position without AMQP defaults (azure-sdk-for-python,
//   sdk/eventhub/azure-eventhub/azure/eventhub/_pyamqp/link.py, _incoming_attach: frame[10]
//   max-message-size, frame[13] properties, merged into its own with dict.update), so the reply
//   always ends with a properties map, empty when there is nothing to say.
// - Microsoft.Azure.Amqp (under Azure.Messaging.EventHubs) adopts the settle modes of the reply;
//   a $cbs sender that asked for snd-settle-mode "settled" and got the default ("mixed") sends its
//   put-tokens unsettled with one shared empty delivery tag, and concurrent ones collide. So the
//   sender's settle mode is echoed, as the AMQP spec has the receiving end do.
import type { Receiver, Sender } from 'rhea';
import { type LocalAttach } from './amqp/rheaTypes';

/** snd-settle-mode and rcv-settle-mode values (AMQP 1.0, 2.8.2 and 2.8.3). */
export const SenderSettleMode = { unsettled: 0, settled: 1, mixed: 2 } as const;
export const ReceiverSettleMode = { first: 0, second: 1 } as const;

interface RemoteAttach {
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
}

/**
 * Completes the local ATTACH of a link the client opened. Fields the caller already set (a
 * consumer link's "settled", a producer's properties) are kept.
 */
export function completeAttachReply(link: Sender | Receiver): void {
  const local = (link as unknown as { local: { attach: LocalAttach } }).local.attach;
  const remote = ((link as unknown as { remote: { attach?: RemoteAttach } }).remote.attach ??
    {}) as RemoteAttach;
  // The sender's snd-settle-mode and the receiver's rcv-settle-mode are the ones in force.
  if (local.snd_settle_mode === undefined && remote.snd_settle_mode !== undefined) {
    local.snd_settle_mode = remote.snd_settle_mode;
  }
  const clientReceives = (link as Sender | Receiver).is_sender();
  // As a receiver the emulator settles first: it never asks a client to settle twice.
  local.rcv_settle_mode = clientReceives
    ? (remote.rcv_settle_mode ?? ReceiverSettleMode.first)
    : ReceiverSettleMode.first;
  local.properties ??= {};
}
