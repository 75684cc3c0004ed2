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
