// Faster output for the emulator's own server connections.
//
// rhea encodes every frame with a generic writer that starts from a zero-filled 1 KB buffer and
// grows it (zero-filled again, then copied) to fit the payload, and writes each frame to the
// socket on its own. Delivering an event is one transfer frame, so at tens of thousands of events
// per second that was a fifth of the emulator's CPU. Here transfer frames are encoded directly into
// one exactly-sized buffer; every other frame still goes through rhea. The socket is corked for the
// rest of the tick, so the frames of one burst leave in one write.
//
// This relies on rhea 3.0.5's Transport (pending frames, header_sent, write(socket)); the package
// is pinned, and the conformance suite exercises every frame through this path.
import type { Socket } from 'node:net';

interface Performative {
  constructor: { descriptor?: { numeric?: number } };
  handle: number;
  delivery_id: number;
  delivery_tag: Buffer;
  message_format: number;
  settled: boolean;
  more: boolean;
}

interface Frame {
  channel: number;
  type: number;
  performative?: Performative;
  payload?: Buffer;
}

interface Transport {
  pending: Frame[];
  header_sent: unknown;
  write(socket: Socket): void;
}

const TRANSFER = 0x14;
const AMQP_FRAME_TYPE = 0;

/** Installs the transfer fast path and per-tick write coalescing on a server connection. */
export function speedUpOutput(connection: unknown, socket: Socket): void {
  coalesceWrites(socket);
  const transport = (connection as { amqp_transport: Transport }).amqp_transport;
  const rheaWrite = transport.write.bind(transport);
  transport.write = (target: Socket) => {
    const pending = transport.pending;
    if (!transport.header_sent || !pending.some(isTransfer)) return rheaWrite(target);
    transport.pending = [];
    for (const frame of pending) {
      if (isTransfer(frame)) {
        target.write(encodeTransferFrame(frame));
      } else {
        transport.pending = [frame];
        rheaWrite(target);
      }
    }
    transport.pending = [];
  };
}

function isTransfer(frame: Frame): boolean {
  return frame.type === AMQP_FRAME_TYPE && frame.performative?.constructor.descriptor?.numeric === TRANSFER;
}

/**
 * frame header (size, doff 2, type 0, channel) + described list32 of all eleven transfer fields
 * [handle, delivery-id, delivery-tag, message-format, settled, more, rcv-settle-mode (null),
 * state (null), resume, aborted, batchable] + payload. All eleven, not the six that carry values:
 * pyamqp finds the payload after the fields it decoded and reads it at index 11
 * (azure-eventhub/azure/eventhub/_pyamqp/_decode.py decode_frame, receiver.py _incoming_transfer).
 */
export function encodeTransferFrame(frame: Frame): Buffer {
  const p = frame.performative!;
  const tag = p.delivery_tag ?? EMPTY;
  if (tag.length > 255) throw new Error('delivery tags longer than 255 bytes are not supported');
  const payload = frame.payload ?? EMPTY;
  const fields = 4 + 5 + 5 + (2 + tag.length) + 5 + 1 + 1 + 5; // count + 11 encoded fields
  const performative = 3 + 1 + 4 + fields; // descriptor + list32 constructor + size + fields
  const size = 8 + performative + payload.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size, 0);
  out[4] = 2;
  out[5] = AMQP_FRAME_TYPE;
  out.writeUInt16BE(frame.channel, 6);
  out[8] = 0x00;
  out[9] = 0x53;
  out[10] = TRANSFER;
  out[11] = 0xd0;
  out.writeUInt32BE(fields, 12);
  out.writeUInt32BE(11, 16);
  let pos = 20;
  out[pos] = 0x70;
  out.writeUInt32BE(p.handle >>> 0, pos + 1);
  pos += 5;
  out[pos] = 0x70;
  out.writeUInt32BE(p.delivery_id >>> 0, pos + 1);
  pos += 5;
  out[pos] = 0xa0;
  out[pos + 1] = tag.length;
  tag.copy(out, pos + 2);
  pos += 2 + tag.length;
  out[pos] = 0x70;
  out.writeUInt32BE(p.message_format >>> 0, pos + 1);
  pos += 5;
  out[pos++] = p.settled ? 0x41 : 0x42;
  out[pos++] = p.more ? 0x41 : 0x42;
  out[pos++] = 0x40; // rcv-settle-mode: the link's
  out[pos++] = 0x40; // state
  out[pos++] = 0x42; // resume
  out[pos++] = 0x42; // aborted
  out[pos++] = 0x42; // batchable
  payload.copy(out, pos);
  return out;
}

function coalesceWrites(socket: Socket): void {
  const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((chunk: Buffer) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(chunk);
  }) as Socket['write'];
}

const EMPTY = Buffer.alloc(0);
