// Every performative the emulator sends carries all its fields, null where there is no value.
//
// The AMQP spec lets a peer cut trailing null fields, and rhea does. The service does not, and
// pyamqp depends on it: it reads fields by position and, with network tracing on
// (`logging_enable=True`), builds each frame as a tuple that needs every field
// (azure-sdk-for-python, azure-eventhub/azure/eventhub/_pyamqp/performatives.py: OpenFrame,
// BeginFrame, AttachFrame, DispositionFrame, ... without defaults; session.py _incoming_begin,
// link.py _incoming_attach). Transfer frames are written by transferWriter.ts, also complete.
//
// This relies on rhea 3.0.5's Transport (frames are queued by encode(), written later) and on its
// composites keeping their fields in a `value` array; the package is pinned.

/** Field counts of the AMQP 1.0 performatives (part 2.7), by descriptor code. */
const FIELD_COUNTS: Record<number, number> = {
  0x10: 10, // open
  0x11: 8, // begin
  0x12: 14, // attach
  0x13: 11, // flow
  0x15: 6, // disposition
  0x16: 3, // detach
  0x17: 1, // end
  0x18: 1, // close
};

interface QueuedFrame {
  performative?: { value?: unknown[]; constructor: { descriptor?: { numeric?: number } } };
}

interface FrameTransport {
  encode(frame: QueuedFrame): void;
}

/** Pads every performative rhea queues on this connection to its full field count. */
export function completeFrames(connection: unknown): void {
  const transport = (connection as { amqp_transport: FrameTransport }).amqp_transport;
  const encode = transport.encode.bind(transport);
  transport.encode = (frame: QueuedFrame) => {
    const performative = frame.performative;
    const count = FIELD_COUNTS[Number(performative?.constructor.descriptor?.numeric)];
    const fields = performative?.value;
    if (count !== undefined && fields && fields.length < count) {
      for (let i = 0; i < count; i++) if (fields[i] === undefined) fields[i] = null;
    }
    encode(frame);
  };
}
