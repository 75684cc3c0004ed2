// The parts of rhea's server-side objects the emulator uses that rhea's typings do not declare
// (accepting a socket, the local attach frame, the session's outgoing window). Kept in one place so
// a rhea upgrade has one file to check.
import type { Socket } from 'node:net';
import type { Connection, Receiver, Sender } from 'rhea';

export interface LocalAttach {
  max_message_size?: number;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
  offered_capabilities?: string[];
  properties?: Record<string, unknown>;
}

export interface ServerConnection extends Connection {
  accept(socket: Socket): ServerConnection;
  remote: { open?: { hostname?: string; container_id?: string } };
}

export interface ServerLink {
  local: { attach: LocalAttach };
}

export type ServerSender = Sender &
  ServerLink & {
    credit: number;
    session: { outgoing: { available(): number } };
  };

export type ServerReceiver = Receiver & ServerLink & { credit: number };

/** Symbols in a link's capabilities arrive as a string or an array of strings. */
export function capabilityList(value: string | string[] | undefined): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

// --- rhea 3.0.5 internals used by the input guards (frameGuard.ts, transferGuard.ts, clientFaults.ts) ---

/** A delivery rhea is assembling or has received (Incoming.on_transfer in rhea's session.js). */
export interface IncomingDelivery {
  id: number;
  frames?: Buffer[];
  settled: boolean;
  remote_settled: boolean;
  reject(error: { condition: string; description: string }): void;
}

export interface GuardedLink {
  name: string;
  credit: number;
  delivery_count: number;
  _incomplete?: IncomingDelivery;
  local: { attach: LocalAttach };
  is_receiver(): boolean;
  is_open(): boolean;
  is_remote_open(): boolean;
  add_credit(credit: number): void;
  close(error?: { condition: string; description: string }): void;
}

/** A transfer frame as rhea's frame reader hands it to Connection.on_transfer. */
export interface TransferFrame {
  channel: number;
  performative: {
    handle: number;
    delivery_id?: number;
    message_format?: number;
    more?: boolean;
    aborted?: boolean;
  };
  payload?: Buffer;
}

/** A disposition frame as rhea's frame reader hands it to Connection.on_disposition. */
export interface DispositionFrame {
  channel: number;
  /** role true: the client, as receiver, settles deliveries the emulator sent. */
  performative: { role: boolean; first: number; last?: number };
}

/** The connection as the guards reach into it: per-instance overrides of prototype methods. */
export interface GuardedConnection {
  input(buffer: Buffer): void;
  on_transfer(frame: TransferFrame): void;
  on_disposition(frame: DispositionFrame): void;
  dispatch(name: string, ...args: unknown[]): boolean;
  output(): void;
  open(): void;
  close(error?: { condition: string; description: string }): void;
  _process(): void;
  abort_socket(socket: unknown): void;
  /** A net or TLS socket; other transports (rhea's WebSocket wrapper) may lack all but write and end. */
  socket?: {
    write(bytes: Buffer): void;
    end(): void;
    pause?(): void;
    resume?(): void;
    once?(event: 'close', listener: () => void): void;
  };
  /** rhea's SASL layer: a SelectiveServer (plain or SASL) whose `selected` is a SaslServer, or a SaslServer. */
  sasl_transport?: SaslLayer & { selected?: SaslLayer };
  state: { initialised: boolean; local_open: boolean };
  local: { open: { max_frame_size?: number } };
  remote_channel_map: Record<
    number,
    | {
        remote: { handles: Record<number, GuardedLink | undefined> };
        /** The emulator's deliveries on the session: those below next_pending_delivery have been sent. */
        outgoing: { next_pending_delivery: number };
      }
    | undefined
  >;
  _context(context: object): object;
}

interface SaslLayer {
  transport?: { read_complete: boolean };
  /** The outcome code sent: 0 is ok. */
  outcome?: number;
  /** Set by a sasl-init naming a mechanism the server offers. */
  mechanism?: unknown;
}

/** Where rhea's SASL exchange stands on a server connection ('done' also when there is none). */
export function saslState(connection: GuardedConnection): 'done' | 'pending' | 'failed' | 'not-started' {
  const layer = connection.sasl_transport;
  const server = layer?.selected ?? layer;
  if (!server?.transport || server.transport.read_complete) return 'done';
  if (server.outcome !== undefined) return server.outcome === 0 ? 'pending' : 'failed';
  return server.mechanism === undefined ? 'not-started' : 'pending';
}

// --- rhea 3.0.5's outgoing delivery buffer (session.js Outgoing, CircularBuffer), used by unsentDeliveries.ts ---

export interface QueuedDelivery {
  id: number;
  link: unknown;
  /** The delivery's next frame to write: above 0 once part of it is on the wire. */
  next_to_send: number;
}

export interface OutgoingDeliveries {
  capacity: number;
  size: number;
  head: number;
  tail: number;
  entries: (QueuedDelivery | undefined)[];
}

export interface SessionOutgoing {
  deliveries: OutgoingDeliveries;
  next_delivery_id: number;
  next_pending_delivery: number;
}
