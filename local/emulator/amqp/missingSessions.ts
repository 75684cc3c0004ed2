// End and detach on a channel with no session are ignored, as the service does: Microsoft.Azure.Amqp
// drops them ("the session close may have timed out already") and refuses other frames there with
// amqp:not-found (Azure/azure-amqp, src/AmqpConnection.cs, OnReceiveSessionFrame). pyamqp depends
// on it: its Session.end sends end first and then detaches the links still open, such as the
// management links of get_partition_properties (azure-eventhub _pyamqp/session.py end). rhea
// treats any frame on an unknown channel as a protocol error that closes the connection.

interface SessionFrame {
  channel: number;
}

interface ChannelOwner {
  remote_channel_map: Record<number, unknown>;
  on_end(frame: SessionFrame): void;
  on_detach(frame: SessionFrame): void;
}

/** Makes this rhea connection ignore end and detach frames on channels that have no session. */
export function ignoreFramesOfEndedSessions(connection: unknown, ignored: (what: string) => void): void {
  const owner = connection as ChannelOwner;
  for (const name of ['end', 'detach'] as const) {
    const handle = owner[`on_${name}`].bind(owner);
    owner[`on_${name}`] = (frame: SessionFrame) => {
      if (owner.remote_channel_map[frame.channel]) handle(frame);
      else ignored(`${name} on channel ${frame.channel}, which has no session: ignored`);
    };
  }
}
