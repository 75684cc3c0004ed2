// Puts the input guards in front of rhea on one server connection (call it before
// connection.accept(socket)): the client's bytes go through FrameGuard (framing, performatives),
// its transfers through guardTransfers (message size, credit, aborted and malformed messages), and
// what rhea throws while reading them is classified by FaultHandler. The max-frame-size the
// emulator announces in its open is the one FrameGuard enforces.
import { type Logger } from '../logger';
import { ClientFault, FaultCondition, FaultHandler } from './clientFaults';
import { FrameGuard, MAX_FRAME_SIZE } from './frameGuard';
import { type GuardedConnection, saslState } from './rheaTypes';
import { guardTransfers } from './transferGuard';

/** A SASL exchange still undecided after this long is given up. */
const SASL_DEADLINE_MS = 10_000;

export function guardInput(rheaConnection: unknown, logger: Logger, id: string): void {
  const connection = rheaConnection as GuardedConnection;
  connection.local.open.max_frame_size = MAX_FRAME_SIZE;
  const rheaInput = connection.input.bind(connection);
  const faults = new FaultHandler(connection, logger, id, () => frames.amqpStarted);
  const frames = new FrameGuard({
    frames: (bytes) => {
      if (!faults.isClosed) faults.reads(() => rheaInput(bytes));
    },
    fault: (fault, reply) => {
      if (reply) connection.socket?.write(reply);
      faults.close(fault);
    },
    saslState: () => saslState(connection),
    awaitSasl: (resume) => {
      connection.socket?.pause?.();
      const deadline = Date.now() + SASL_DEADLINE_MS;
      const check = () => {
        const state = saslState(connection);
        if (faults.isClosed) return;
        if (state === 'done') {
          connection.socket?.resume?.();
          resume();
        } else if (state === 'failed' || Date.now() > deadline) {
          faults.close(
            new ClientFault(
              FaultCondition.illegalState,
              'AMQP frames after a SASL exchange that did not succeed',
            ),
          );
        } else {
          setTimeout(check, 5).unref();
        }
      };
      // The outcome of ANONYMOUS is decided a microtask from now.
      setImmediate(check);
    },
  });
  connection.input = (chunk: Buffer) => frames.push(chunk);
  guardTransfers(connection, {
    linkRefused: (link, condition, description) =>
      logger.warn(`${id}: client fault, link '${link.name}' detached: ${condition}: ${description}`),
    deliveryRefused: (link, description) => logger.debug(`${id}: link '${link.name}': ${description}`),
    internalError: (error) => faults.markEmulators(error),
  });
}
