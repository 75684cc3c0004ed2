// End and detach on a channel with no session are ignored, as the service does: Microsoft.Azure.Amqp
// drops them ("the session close may have timed out already") and refuses other frames there with
// amqp:not-found (Azure/azure-amqp, src/AmqpConnection.cs, OnReceiveSessionFrame). pyamqp depends
// on it: its Session.end sends end first and then detaches the links still open, such as the
// management links of get_partition_properties (azure-eventhub _pyamqp/session.py end). rhea
// treats any frame on an unknown channel as a protocol error that closes the connection.
//
// A session FLOW there (one without a handle) is ignored too, where Microsoft.Azure.Amqp refuses it unless its
// IgnoreMissingSessions setting is on (we do not know the service's setting): rhea, in
// @azure/event-hubs, keeps refreshing its incoming window with a session FLOW after it sent END,
// while transfers still arrive; when our END reply has crossed it, closing the connection for that
// FLOW left one partition's receive uncancelled and the client's close() hanging (issue 16,
// test/integration/emulator/closeWhileReceiving.test.ts). Listed in docs/fidelity.md.

interface SessionFrame {
  channel: number;
  performative?: { handle?: number | null };
}

interface ChannelOwner {
  remote_channel_map: Record<number, unknown>;
  on_end(frame: SessionFrame): void;
  on_detach(frame: SessionFrame): void;
  on_flow(frame: SessionFrame): void;
}

/** Makes this rhea connection ignore end, detach and session flow frames on channels that have no session. */
export function ignoreFramesOfEndedSessions(connection: unknown, ignored: (what: string) => void): void {
  const owner = connection as ChannelOwner;
  for (const name of ['end', 'detach', 'flow'] as const) {
    const deliver = owner[`on_${name}`].bind(owner);
    owner[`on_${name}`] = (frame: SessionFrame) => {
      const linkFlow = name === 'flow' && typeof frame.performative?.handle === 'number';
      if (owner.remote_channel_map[frame.channel] || linkFlow) deliver(frame);
      else
        ignored(
          `${name === 'flow' ? 'session flow' : name} on channel ${frame.channel}, which has no session: ignored`,
        );
    };
  }
}
