// The first thing a client's bytes meet: framing checked before rhea buffers or decodes anything.
//
// rhea (3.0.5) buffers a frame of whatever size its header declares, however large, and decodes
// every frame body with a reader that trusts sizes and counts (see rhea-upstream-report.md). Here:
// - the protocol header must be AMQP 1.0 (SASL or plain); anything else is answered with our
//   header and the socket is closed (AMQP 1.0 part 2, 2.2);
// - each frame's size is checked from its header before its body is buffered: at least 8 bytes,
//   at most MAX_FRAME_SIZE (512 during SASL), a data offset within the frame and the frame type
//   of the layer (AMQP 1.0 part 2, 2.3; part 5, 5.3.1); otherwise amqp:connection:framing-error,
//   as Microsoft.Azure.Amqp's FrameDecoder answers (src/FrameDecoder.cs: InvalidFrameSize);
// - each frame body is one performative a client sends, fully checked (performatives.ts) before
//   rhea decodes it; otherwise amqp:decode-error or amqp:invalid-field.
// A fault closes that connection only (clientFaults.ts). rhea receives whole, checked frames; at
// most one partial frame (at most MAX_FRAME_SIZE bytes) is held per connection.
import { AmqpFormatError } from './codec';
import { ClientFault, FaultCondition } from './clientFaults';
import { checkPerformative, InvalidFieldError } from './performatives';

/**
 * The largest frame the emulator accepts, announced as max-frame-size in its open: the default of
 * Microsoft.Azure.Amqp, which Event Hubs runs on (src/AmqpConstants.cs: DefaultMaxFrameSize = 64 KB).
 */
export const MAX_FRAME_SIZE = 64 * 1024;
/** MIN-MAX-FRAME-SIZE, the limit before negotiation and for SASL frames (src/Sasl/SaslTransportProvider.cs). */
export const SASL_MAX_FRAME_SIZE = 512;

const FRAME_HEADER_SIZE = 8;
const PROTOCOL_HEADER_SIZE = 8;
const AMQP_MAGIC = 0x414d5150; // "AMQP"
const PROTOCOL_AMQP = 0;
const PROTOCOL_SASL = 3;
const FRAME_TYPE_AMQP = 0;
const FRAME_TYPE_SASL = 1;
const EMPTY = Buffer.alloc(0);

/** What the peer expects to hear back when its protocol header is refused: ours. */
export const AMQP_PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, PROTOCOL_AMQP, 1, 0, 0]);

type Layer = 'protocol-header' | 'sasl' | 'amqp' | 'failed';

/** 'not-started': no sasl-init yet; 'pending': rhea is deciding the outcome. */
export type SaslState = 'done' | 'pending' | 'failed' | 'not-started';

export interface FrameSink {
  /** Whole, checked frames (and protocol headers) for rhea, in order. */
  frames(bytes: Buffer): void;
  /** Where rhea's SASL exchange stands: 'done' once it reads AMQP frames. */
  saslState(): SaslState;
  /** Calls `resume` once the state is 'done' (the input is held meanwhile). */
  awaitSasl(resume: () => void): void;
  /** The client broke the framing or sent an undecodable frame: stop and close. */
  fault(fault: ClientFault, reply?: Buffer): void;
}

export class FrameGuard {
  private layer: Layer = 'protocol-header';
  private amqpReached = false;
  /** A frame being assembled across chunks, allocated at its checked size. */
  private partial: Buffer | undefined;
  private filled = 0;
  /** Fewer than 8 bytes of a header that a chunk boundary cut. */
  private head: Buffer = EMPTY;
  /** Input held from the AMQP header after SASL on, until rhea's SASL layer has its outcome. */
  private held: Buffer[] | undefined;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrameSize = MAX_FRAME_SIZE,
  ) {}

  /** True once the client has sent the AMQP protocol header (close frames can be sent). */
  get amqpStarted(): boolean {
    return this.amqpReached;
  }

  /** Held bytes (a partial frame or header): bounded by the frame size limit. */
  get heldBytes(): number {
    return (this.partial?.length ?? 0) + this.head.length;
  }

  push(chunk: Buffer): void {
    if (this.held) {
      this.held.push(chunk);
      return;
    }
    try {
      this.consume(chunk);
    } catch (error) {
      if (!(error instanceof ClientFault)) throw error;
      this.layer = 'failed';
      this.partial = undefined;
      this.head = EMPTY;
      this.sink.fault(error, error instanceof ProtocolHeaderFault ? AMQP_PROTOCOL_HEADER : undefined);
    }
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && this.layer !== 'failed') {
      if (this.partial) {
        const copied = chunk.copy(this.partial, this.filled, pos);
        this.filled += copied;
        pos += copied;
        if (this.filled < this.partial.length) return;
        const frame = this.partial;
        this.partial = undefined;
        this.checkFrame(frame, 0, frame.length);
        this.sink.frames(frame);
      } else if (this.head.length) {
        const take = Math.min(FRAME_HEADER_SIZE - this.head.length, chunk.length - pos);
        this.head = Buffer.concat([this.head, chunk.subarray(pos, pos + take)]);
        pos += take;
        if (this.head.length < FRAME_HEADER_SIZE) return;
        const head = this.head;
        this.head = EMPTY;
        if (this.holdForSasl(head, 0)) {
          this.held!.push(chunk.subarray(pos));
          return;
        }
        this.begin(head, 0);
      } else {
        pos = this.wholeUnits(chunk, pos);
        if (pos === chunk.length) return;
        if (chunk.length - pos < FRAME_HEADER_SIZE) {
          this.head = Buffer.from(chunk.subarray(pos));
          return;
        }
        this.begin(chunk, pos);
        pos += FRAME_HEADER_SIZE;
      }
    }
  }

  /** Handles the complete units from `pos`, handing runs of them to the sink; returns where a partial one starts. */
  private wholeUnits(chunk: Buffer, pos: number): number {
    let runStart = pos;
    const flush = () => {
      if (pos > runStart) this.sink.frames(chunk.subarray(runStart, pos));
      runStart = pos;
    };
    try {
      while (chunk.length - pos >= FRAME_HEADER_SIZE) {
        if (this.expectsProtocolHeader(chunk, pos)) {
          flush();
          if (this.holdForSasl(chunk, pos)) return chunk.length;
          this.protocolHeader(chunk, pos);
          pos += PROTOCOL_HEADER_SIZE;
          continue;
        }
        const size = this.frameHeader(chunk, pos);
        if (chunk.length - pos < size) break;
        this.checkFrame(chunk, pos, size);
        pos += size;
        // rhea's SASL layer stops reading at its outcome: hand it one SASL frame at a time.
        if (this.layer === 'sasl') flush();
      }
    } finally {
      // The frames before a faulty one are the client's too: they are handled first.
      flush();
    }
    return pos;
  }

  /** Starts a unit from its first 8 bytes at `pos`: a protocol header, an empty frame, or a frame to assemble. */
  private begin(bytes: Buffer, pos: number): void {
    const first = bytes.subarray(pos, pos + FRAME_HEADER_SIZE);
    if (this.expectsProtocolHeader(first, 0)) {
      this.protocolHeader(first, 0);
      this.sink.frames(Buffer.from(first));
      return;
    }
    const size = this.frameHeader(first, 0);
    if (size === FRAME_HEADER_SIZE) {
      this.sink.frames(Buffer.from(first));
      return;
    }
    this.partial = Buffer.allocUnsafe(size);
    first.copy(this.partial, 0);
    this.filled = FRAME_HEADER_SIZE;
  }

  /**
   * rhea decides the SASL outcome a microtask after sasl-init, and until then reads whatever
   * follows as SASL frames: the AMQP header of a client that pipelines (AMQP 1.0 part 5, 5.3.2
   * lets it) becomes a frame of 1.1 GB that rhea waits for forever. So the input from that header
   * on is held until rhea is done with SASL (the socket is paused meanwhile).
   */
  private holdForSasl(buf: Buffer, pos: number): boolean {
    if (this.layer !== 'sasl') return false;
    const state = this.sink.saslState();
    if (state === 'done') return false;
    if (state !== 'pending') {
      throw new ClientFault(
        FaultCondition.illegalState,
        `the AMQP protocol header came ${state === 'failed' ? 'after a failed SASL exchange' : 'before sasl-init'}`,
      );
    }
    this.held = [Buffer.from(buf.subarray(pos))];
    this.sink.awaitSasl(() => {
      const held = Buffer.concat(this.held ?? []);
      this.held = undefined;
      this.push(held);
    });
    return true;
  }

  private expectsProtocolHeader(buf: Buffer, pos: number): boolean {
    return (
      this.layer === 'protocol-header' || (this.layer === 'sasl' && buf.readUInt32BE(pos) === AMQP_MAGIC)
    );
  }

  private protocolHeader(buf: Buffer, pos: number): void {
    const id = buf[pos + 4];
    const version = `${buf[pos + 5]}.${buf[pos + 6]}.${buf[pos + 7]}`;
    const wanted = this.layer === 'sasl' ? [PROTOCOL_AMQP] : [PROTOCOL_AMQP, PROTOCOL_SASL];
    if (buf.readUInt32BE(pos) !== AMQP_MAGIC || !wanted.includes(id) || version !== '1.0.0') {
      throw new ProtocolHeaderFault(
        `the protocol header ${buf.toString('hex', pos, pos + 8)} is not AMQP 1.0.0` +
          (this.layer === 'sasl' ? ' after SASL' : ' (plain or SASL)'),
      );
    }
    this.layer = id === PROTOCOL_SASL ? 'sasl' : 'amqp';
    if (this.layer === 'amqp') this.amqpReached = true;
  }

  /** Checks a frame header (8 bytes at `pos`) before anything more is read; returns the frame size. */
  private frameHeader(buf: Buffer, pos: number): number {
    const size = buf.readUInt32BE(pos);
    const sasl = this.layer === 'sasl';
    const limit = sasl ? SASL_MAX_FRAME_SIZE : this.maxFrameSize;
    if (size < FRAME_HEADER_SIZE || size > limit) {
      throw new ClientFault(
        FaultCondition.framingError,
        `a frame of ${size} bytes; ${sasl ? 'SASL frames' : 'frames'} are ${FRAME_HEADER_SIZE} to ${limit} bytes ` +
          `(max-frame-size ${limit})`,
      );
    }
    const doff = buf[pos + 4];
    if (doff < 2 || doff * 4 > size) {
      throw new ClientFault(
        FaultCondition.framingError,
        `a data offset of ${doff} in a frame of ${size} bytes`,
      );
    }
    const type = buf[pos + 5];
    const expected = sasl ? FRAME_TYPE_SASL : FRAME_TYPE_AMQP;
    if (type !== expected) {
      throw new ClientFault(
        FaultCondition.framingError,
        `a frame of type ${type} where ${sasl ? 'SASL' : 'AMQP'} frames (type ${expected}) belong`,
      );
    }
    return size;
  }

  /** Checks a whole frame's body: one performative a client sends, well formed. */
  private checkFrame(buf: Buffer, pos: number, size: number): void {
    const body = buf.subarray(pos + buf[pos + 4] * 4, pos + size);
    if (body.length === 0) return; // an empty frame: a heartbeat
    try {
      // Positions in messages count from the start of the frame body.
      checkPerformative(body, 0, body.length, this.layer === 'sasl');
    } catch (error) {
      if (error instanceof AmqpFormatError) throw new ClientFault(FaultCondition.decodeError, error.message);
      if (error instanceof InvalidFieldError)
        throw new ClientFault(FaultCondition.invalidField, error.message);
      throw error;
    }
  }
}

class ProtocolHeaderFault extends ClientFault {
  constructor(message: string) {
    super(FaultCondition.framingError, message);
  }
}
