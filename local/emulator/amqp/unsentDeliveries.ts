// A link's deliveries that rhea holds but has not written yet are withdrawn when the link closes.
// rhea queues sends in the session's outgoing buffer and writes them as the peer's incoming window
// allows; a queued delivery of a link that has since detached would go out after its DETACH, on a
// handle the peer has already unmapped (AMQP 1.0 part 2.6.6: "the handle MUST NOT be used" once
// detached), and rhea the client (@azure/event-hubs) throws "Invalid handle" on it and stops
// reading the connection, so the client's close() never returns (issue 16).
//
// rhea 3.0.5 internals (session.js Outgoing and CircularBuffer, typed in rheaTypes.ts): deliveries from
// next_pending_delivery to next_delivery_id - 1 are not on the wire yet; their ids are assigned
// again in order so the session's delivery ids stay contiguous.

import type { QueuedDelivery, SessionOutgoing } from './rheaTypes';

/** Removes the deliveries of `link` that its session has not started writing; returns how many. */
export function withdrawUnsentDeliveries(link: { session: unknown }): number {
  const outgoing = (link.session as { outgoing?: SessionOutgoing } | undefined)?.outgoing;
  const buffer = outgoing?.deliveries;
  if (!outgoing || !buffer || buffer.size === 0) return 0;
  const at = (index: number) => (buffer.head + index) % buffer.capacity;
  const firstId = buffer.entries[buffer.head]!.id;
  const firstUnsent = outgoing.next_pending_delivery - firstId;
  if (firstUnsent < 0 || firstUnsent >= buffer.size) return 0;
  const kept: QueuedDelivery[] = [];
  let withdrawn = 0;
  for (let index = firstUnsent; index < buffer.size; index++) {
    const delivery = buffer.entries[at(index)]!;
    buffer.entries[at(index)] = undefined;
    if (delivery.link === link && delivery.next_to_send === 0) withdrawn++;
    else kept.push(delivery);
  }
  if (withdrawn === 0) {
    kept.forEach((delivery, offset) => (buffer.entries[at(firstUnsent + offset)] = delivery));
    return 0;
  }
  kept.forEach((delivery, offset) => {
    delivery.id = outgoing.next_pending_delivery + offset;
    buffer.entries[at(firstUnsent + offset)] = delivery;
  });
  buffer.size = firstUnsent + kept.length;
  buffer.tail = at(buffer.size);
  outgoing.next_delivery_id = outgoing.next_pending_delivery + kept.length;
  return withdrawn;
}
