// Every performative the emulator sends carries all its fields, null where there is no value.
//
// The AMQP spec lets a peer cut trailing null fields, and rhea does. The service does not, and
// pyamqp depends on it: it reads fields by position and, with network tracing on
// (`logging_enable=True`), builds each frame as a tuple that needs every field
// (azure-sdk-for-python, azure-eventhub/azure/eventhub/_pyamqp/performatives.py: OpenFrame,
// BeginFrame, AttachFrame, DispositionFrame, ... without defaults; session.py _incoming_begin,
// link.py _incoming_attach). Transfer frames are written by transferWriter.ts, also complete.
// The same holds for the error of a close, end, detach or rejected outcome: Microsoft.Azure.Amqp
// writes condition, description and info, info null or not (Azure/azure-amqp, src/Framing/Error.cs
// OnEncode; src/Framing/DescribedList.cs EncodeValue), and pyamqp reads `error[2]` (_pyamqp/link.py
// _incoming_detach, _connection.py _incoming_close, management_link.py _on_send_complete).
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

const ERROR_CODE = 0x1d;
const ERROR_FIELD_COUNT = 3;
const REJECTED_CODE = 0x25;
/** Where the error (or the delivery state holding it) sits in each performative. */
const ERROR_FIELD: Record<number, number> = { 0x15: 4, 0x16: 2, 0x17: 0, 0x18: 0 };

interface QueuedFrame {
  performative?: { value?: unknown[]; constructor: { descriptor?: { numeric?: number } } };
}

/** A described list as rhea builds it: a list whose `descriptor` is a ulong. */
interface DescribedList {
  descriptor?: { value?: unknown };
  value?: unknown[];
}

function describedList(value: unknown, code: number): unknown[] | undefined {
  const described = value as DescribedList | null | undefined;
  if (Number(described?.descriptor?.value) !== code || !Array.isArray(described?.value)) return undefined;
  return described.value;
}

function padFields(fields: unknown[], count: number): void {
  for (let i = 0; i < count; i++) if (fields[i] === undefined) fields[i] = null;
}

/** Pads the error of a close, end or detach, or of a disposition's rejected outcome. */
function completeError(code: number, fields: unknown[]): void {
  const at = ERROR_FIELD[code];
  if (at === undefined) return;
  const outcome = describedList(fields[at], REJECTED_CODE);
  const error = describedList(outcome ? outcome[0] : fields[at], ERROR_CODE);
  if (error) padFields(error, ERROR_FIELD_COUNT);
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
    const code = Number(performative?.constructor.descriptor?.numeric);
    const count = FIELD_COUNTS[code];
    const fields = performative?.value;
    if (count !== undefined && fields) {
      padFields(fields, count);
      completeError(code, fields);
    }
    encode(frame);
  };
}
