// End and detach on a channel with no session are ignored, as the service does: Microsoft.Azure.Amqp
// drops them ("the session close may have timed out already") and refuses other frames there with
// amqp:not-found (Azure/azure-amqp, src/AmqpConnection.cs, OnReceiveSessionFrame). pyamqp depends
// on it: its Session.end sends end first and then detaches the links still open, such as the
// management links of get_partition_properties (azure-eventhub _pyamqp/session.py end). rhea
// treats any frame on an unknown channel as a protocol error that closes the connection.
//
// A flow on a channel whose session the client itself ended is ignored too, where
// Microsoft.Azure.Amqp refuses it (unless its IgnoreMissingSessions setting is on): rhea, and so
// the JS SDK, keeps sending session flows (window updates for transfers still arriving) after its
// own end, and the connection closed for it leaves EventHubConsumerClient.close() waiting forever
// (bench:emulator hung at "out" that way). A flow on a channel that never had a session still
// closes the connection.

interface SessionFrame {
  channel: number;
}

interface ChannelOwner {
  remote_channel_map: Record<number, unknown>;
  on_begin(frame: SessionFrame): void;
  on_end(frame: SessionFrame): void;
  on_detach(frame: SessionFrame): void;
  on_flow(frame: SessionFrame): void;
}

/**
 * Makes this rhea connection ignore end and detach frames on channels that have no session, and
 * flows on channels whose session the client ended.
 */
export function ignoreFramesOfEndedSessions(connection: unknown, ignored: (what: string) => void): void {
  const owner = connection as ChannelOwner;
  const endedByClient = new Set<number>();
  const begin = owner.on_begin.bind(owner);
  owner.on_begin = (frame: SessionFrame) => {
    endedByClient.delete(frame.channel);
    begin(frame);
  };
  for (const name of ['end', 'detach'] as const) {
    const handle = owner[`on_${name}`].bind(owner);
    owner[`on_${name}`] = (frame: SessionFrame) => {
      if (!owner.remote_channel_map[frame.channel]) {
        return ignored(`${name} on channel ${frame.channel}, which has no session: ignored`);
      }
      if (name === 'end') endedByClient.add(frame.channel);
      handle(frame);
    };
  }
  const flow = owner.on_flow.bind(owner);
  owner.on_flow = (frame: SessionFrame) => {
    if (!owner.remote_channel_map[frame.channel] && endedByClient.has(frame.channel)) {
      return ignored(`flow on channel ${frame.channel}, whose session the client ended: ignored`);
    }
    flow(frame);
  };
}
