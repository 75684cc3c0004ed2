// A hand-driven AMQP 1.0 client on a bare socket, for what no SDK sends: malformed and oversized
// frames, aborted or interleaved transfers, hand-made messages. Well-formed frames are encoded with
// rhea's frame codec; the emulator's replies are read with it too.
import net from 'node:net';
import frames from 'rhea/lib/frames.js';
import terminus from 'rhea/lib/terminus.js';
import { message as rheaMessage } from 'rhea';
import { sasToken } from './rawClient';

export const AMQP_HEADER = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');
export const SASL_HEADER = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');

/** An AMQP frame: 8-byte header (size, data offset 2, type, channel) and `body`. */
export function frame(body: Buffer, options: { channel?: number; type?: number } = {}): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head[4] = 2;
  head[5] = options.type ?? 0;
  head.writeUInt16BE(options.channel ?? 0, 6);
  return Buffer.concat([head, body]);
}

/** The body of a frame rhea encodes (performative, then payload). */
export function performativeBytes(performative: unknown, payload?: Buffer): Buffer {
  return frames.write_frame(frames.amqp_frame(0, performative, payload)).subarray(8);
}

/**
 * A transfer frame on channel 0: the first frame of a delivery carries its id, tag and format;
 * later ones only `more` (and `aborted`).
 */
export function transferFrame(
  handle: number,
  payload: Buffer,
  options: { deliveryId?: number; format?: number; more?: boolean; aborted?: boolean },
): Buffer {
  const first =
    options.deliveryId === undefined
      ? {}
      : {
          delivery_id: options.deliveryId,
          delivery_tag: Buffer.from(String(options.deliveryId)),
          message_format: options.format ?? 0,
        };
  return frame(
    performativeBytes(
      frames.transfer({ handle, ...first, more: options.more ?? false, aborted: options.aborted ?? false }),
      payload,
    ),
  );
}

/** A $cbs put-token request for `audience`, signed with the emulator's default key. */
export function putTokenMessage(audience: string, replyTo: string): Buffer {
  return rheaMessage.encode({
    message_id: 'put-1',
    reply_to: replyTo,
    body: sasToken(audience),
    application_properties: {
      operation: 'put-token',
      name: audience,
      type: 'servicebus.windows.net:sastoken',
    },
  });
}

export interface ReceivedFrame {
  channel: number;
  /** rhea's performative object: fields by name (handle, error, state, ...), or undefined for a heartbeat. */
  performative?: Record<string, unknown> & { constructor: { toString(): string } };
  payload?: Buffer;
  name: string;
  /** The whole frame as received. */
  bytes: Buffer;
}

export class RawAmqp {
  readonly received: ReceivedFrame[] = [];
  private buffered = Buffer.alloc(0);
  private headerSeen = false;
  private ended = false;
  private nextHandle = 0;
  private nextDeliveryId = 0;
  private readonly waiters: (() => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects; with `open`, sends the protocol header, open and begin (channel 0) and waits for the replies. */
  static async connect(port: number, options: { open?: boolean } = {}): Promise<RawAmqp> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawAmqp(socket);
    if (options.open ?? true) {
      client.send(AMQP_HEADER);
      client.send(
        frame(performativeBytes(frames.open({ container_id: 'raw-client', hostname: '127.0.0.1' }))),
      );
      client.send(
        frame(
          performativeBytes(
            frames.begin({ next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 2048 }),
          ),
        ),
      );
      await client.waitForFrame((f) => f.name === 'begin', 'the begin reply');
    }
    return client;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends a frame whose body rhea encodes from a performative (and payload). */
  sendPerformative(performative: unknown, payload?: Buffer): void {
    this.send(frame(performativeBytes(performative, payload)));
  }

  /** Waits until a received frame matches; rejects if the connection closes first or after 15 s. */
  async waitForFrame(match: (frame: ReceivedFrame) => boolean, what: string): Promise<ReceivedFrame> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (this.ended) throw new Error(`connection closed before ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the emulator has closed the socket (after its close frame, if any). */
  async waitForSocketClose(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the emulator to close the socket');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The error the emulator closed the connection with. */
  async closeError(): Promise<{ condition: string; description: string } | undefined> {
    await this.waitForSocketClose();
    const close = this.received.find((f) => f.name === 'close');
    const error = close?.performative?.error as { condition: string; description: string } | undefined;
    return error && { condition: error.condition, description: error.description };
  }

  /** Attaches a link (role false: we send); returns its handle once the emulator answers the attach. */
  async attach(address: string, role: 'sender' | 'receiver', name = `raw-${address}-${this.nextHandle}`) {
    const handle = this.nextHandle++;
    const remote = { address };
    this.sendPerformative(
      frames.attach({
        name,
        handle,
        role: role === 'receiver',
        snd_settle_mode: 0,
        rcv_settle_mode: 0,
        source: terminus.source(role === 'receiver' ? remote : { address: name }).described(),
        target: terminus.target(role === 'sender' ? remote : { address: name }).described(),
        initial_delivery_count: 0,
      }),
    );
    const reply = await this.waitForFrame(
      (f) => f.name === 'attach' && f.performative?.name === name,
      `the attach reply for ${name}`,
    );
    return { handle, name, reply };
  }

  /** Grants credit on a receiving link. */
  flow(handle: number, credit: number): void {
    this.sendPerformative(
      frames.flow({
        next_incoming_id: 0,
        incoming_window: 2048,
        next_outgoing_id: this.nextDeliveryId,
        outgoing_window: 2048,
        handle,
        delivery_count: 0,
        link_credit: credit,
      }),
    );
  }

  /** The next delivery id of the session (deliveries on all links share them). */
  takeDeliveryId(): number {
    return this.nextDeliveryId++;
  }

  /** Sends one delivery as transfer frames: the payload in pieces of `frameSize` bytes. */
  transfer(
    handle: number,
    payload: Buffer,
    options: { format?: number; frameSize?: number; abortAfter?: number } = {},
  ): number {
    const deliveryId = this.takeDeliveryId();
    const pieceSize = options.frameSize ?? 60_000;
    const pieces = Math.max(1, Math.ceil(payload.length / pieceSize));
    for (let i = 0; i < pieces; i++) {
      const aborted = options.abortAfter !== undefined && i === options.abortAfter;
      const piece = payload.subarray(i * pieceSize, (i + 1) * pieceSize);
      const more = !aborted && i < pieces - 1;
      this.send(
        transferFrame(handle, piece, {
          more,
          aborted,
          ...(i === 0 && { deliveryId, format: options.format }),
        }),
      );
      if (aborted) break;
    }
    return deliveryId;
  }

  /** Writes, waiting while the socket's buffer is full (the emulator reads at its pace). */
  async sendPaced(bytes: Buffer): Promise<void> {
    if (this.socket.destroyed) return;
    if (!this.socket.write(bytes)) await new Promise((resolve) => this.socket.once('drain', resolve));
  }

  /** The disposition that settles `deliveryId` (its state: accepted, or rejected with an error). */
  async disposition(
    deliveryId: number,
  ): Promise<{ outcome: string; error?: { condition: string; description: string } }> {
    const found = await this.waitForFrame((f) => {
      if (f.name !== 'disposition') return false;
      const first = f.performative!.first as number;
      const last = (f.performative!.last as number | undefined) ?? first;
      return first <= deliveryId && deliveryId <= last;
    }, `the disposition of delivery ${deliveryId}`);
    const state = found.performative!.state as
      { constructor?: { toString(): string }; error?: never } | undefined;
    const described = state as unknown as { descriptor?: { value: number }; value?: unknown[] };
    const code = Number(described?.descriptor?.value);
    const outcome = code === 0x24 ? 'accepted' : code === 0x25 ? 'rejected' : `0x${code.toString(16)}`;
    const errorList = (described?.value?.[0] as { value?: { value: unknown }[] } | undefined)?.value;
    const error = errorList
      ? { condition: String(errorList[0]?.value), description: String(errorList[1]?.value) }
      : undefined;
    return { outcome, error };
  }

  /** Puts a SAS token for `audience` on $cbs and attaches a producer link to `address`. */
  async producer(endpoint: string, address: string): Promise<number> {
    const cbsOut = await this.attach('$cbs', 'sender', 'cbs-out');
    const cbsIn = await this.attach('$cbs', 'receiver', 'cbs-in');
    this.flow(cbsIn.handle, 10);
    const audience = `${endpoint}/${address}`;
    await this.waitForFrame(
      (f) => f.name === 'flow' && f.performative?.handle === cbsOut.handle,
      'credit on $cbs',
    );
    this.transfer(cbsOut.handle, putTokenMessage(audience, 'cbs-in'));
    await this.waitForFrame(
      (f) => f.name === 'transfer' && f.performative?.handle !== undefined,
      'the put-token reply',
    );
    const link = await this.attach(address, 'sender');
    await this.waitForFrame(
      (f) => f.name === 'flow' && f.performative?.handle === link.handle,
      'producer credit',
    );
    return link.handle;
  }

  /** Ends our side of the connection (the emulator then closes its side). */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      // A protocol header: the first, or the AMQP one after SASL.
      if (!this.headerSeen || this.buffered.subarray(0, 4).toString('latin1') === 'AMQP') {
        if (this.buffered.length < 8) break;
        this.headerSeen = true;
        this.buffered = this.buffered.subarray(8);
        continue;
      }
      if (this.buffered.length < 4) break;
      const size = this.buffered.readUInt32BE(0);
      if (this.buffered.length < size) break;
      const bytes = Buffer.from(this.buffered.subarray(0, size));
      const decoded = Object.assign(frames.read_frame(bytes) as ReceivedFrame, { bytes });
      decoded.name = decoded.performative ? String(decoded.performative.constructor).split('#')[0] : 'empty';
      this.received.push(decoded);
      this.buffered = this.buffered.subarray(size);
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
