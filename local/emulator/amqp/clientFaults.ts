// Telling a client's protocol fault from the emulator's own. rhea reports both the same way: it
// catches whatever is thrown while it processes input (its own "frame sequence error", "Invalid
// handle", a TypeError from a malformed field, or an exception from one of the emulator's
// handlers), emits 'error' and drops the socket without a word to the client. Here an exception
// that escapes an emulator handler is marked as the emulator's (connection.ts logs it at error
// level with its stack); anything else raised while rhea reads the client's frames is the client's:
// one warning line without a stack, and the connection is closed with an AMQP error that says why
// (AMQP 1.0 part 2, 2.4.3 "Closing A Connection", 2.8.15 "AMQP Error"), the emulator and every
// other connection unaffected.
import { type Logger } from '../logger';
import { type GuardedConnection } from './rheaTypes';

export const FaultCondition = {
  framingError: 'amqp:connection:framing-error',
  decodeError: 'amqp:decode-error',
  invalidField: 'amqp:invalid-field',
  illegalState: 'amqp:illegal-state',
} as const;

/** A client's violation of the protocol; closes its connection. */
export class ClientFault extends Error {
  override name = 'ClientFault';
  constructor(
    readonly condition: string,
    message: string,
  ) {
    super(message);
  }
}

/** A client that does not close after our close frame is cut off after this long. */
const ABORT_AFTER_MS = 2000;

export class FaultHandler {
  private readonly emulatorErrors = new WeakSet<object>();
  private reading = false;
  private closed = false;
  private disconnected = false;

  constructor(
    private readonly connection: GuardedConnection,
    private readonly logger: Logger,
    private readonly id: string,
    /** False until the AMQP layer is reached (no close frame can be sent during SASL). */
    private readonly amqpStarted: () => boolean,
  ) {
    const dispatch = connection.dispatch.bind(connection);
    connection.dispatch = (name: string, ...args: unknown[]) => {
      if ((name === 'error' || name === 'protocol_error') && this.reading && !this.isEmulators(args[0])) {
        const error = args[0] as Error;
        this.close(
          error instanceof ClientFault
            ? error
            : new ClientFault(FaultCondition.illegalState, error?.message ?? String(error)),
        );
        return true;
      }
      if (name === 'disconnected') this.disconnected = true;
      try {
        return dispatch(name, ...args);
      } catch (error) {
        this.markEmulators(error);
        throw error;
      }
    };
    // rhea writes (and may fail to encode) the emulator's own frames from inside its input path.
    const output = connection.output.bind(connection);
    connection.output = () => {
      const reading = this.reading;
      this.reading = false;
      try {
        output();
      } finally {
        this.reading = reading;
      }
    };
  }

  /** Runs rhea on the client's bytes: what it throws there is the client's fault. */
  reads(input: () => void): void {
    this.reading = true;
    try {
      input();
    } finally {
      this.reading = false;
    }
  }

  /** Marks an exception raised by the emulator's own code (a bug, not the client's doing). */
  markEmulators(error: unknown): void {
    if (error !== null && typeof error === 'object') this.emulatorErrors.add(error);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Logs the fault, closes the connection with its condition, and ends the socket. */
  close(fault: ClientFault): void {
    if (this.closed) return;
    this.closed = true;
    this.logger.warn(
      `${this.id}: client protocol fault, connection closed: ${fault.condition}: ${fault.message}`,
    );
    const { connection } = this;
    const socket = connection.socket;
    if (this.amqpStarted()) {
      try {
        // A close before the client's open still needs our open first (AMQP 1.0 part 2, 2.4.5).
        if (!connection.state.initialised) connection.open();
        connection.close({ condition: fault.condition, description: fault.message });
        connection._process(); // write the close frame now: the socket ends next
      } catch (error) {
        this.logger.debug(`${this.id}: the close frame could not be written: ${(error as Error).message}`);
      }
    }
    if (!socket) return;
    socket.end();
    const abort = setTimeout(() => connection.abort_socket(socket), ABORT_AFTER_MS);
    abort.unref();
    socket.once?.('close', () => {
      clearTimeout(abort);
      // rhea reports no disconnect for a connection closed at both ends, which is what a close
      // before the client's open leaves: without this the emulator would keep its state forever.
      if (!this.disconnected) connection.dispatch('disconnected', connection._context({}));
    });
  }

  private isEmulators(error: unknown): boolean {
    return error !== null && typeof error === 'object' && this.emulatorErrors.has(error);
  }
}
