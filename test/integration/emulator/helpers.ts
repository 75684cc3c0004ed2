// Shared setup for the emulator conformance suite: emulators on random ports with captured logs,
// SDK clients with short retries, and a bounded way to receive events.
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  type EventPosition,
  type ReceivedEventData,
  type SubscribeOptions,
} from '@azure/event-hubs';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import {
  createLogger,
  type EmulatorOptions,
  EmulatorPortInUseError,
  type LogLevel,
  type RunningEmulator,
  startEmulator,
} from '@local/eventhubs-emulator';

export const ROOT = path.resolve(__dirname, '../../..');

/** Retries for calls expected to fail: fail fast instead of the SDK's minutes of retrying. */
export const FAST_FAIL = { maxRetries: 0, timeoutInMs: 5000 } as const;

/**
 * The emulator in this process (its programmatic API) with its log lines captured, for the
 * conformance suite; tests of other tiers start it as a process (test/support/emulator.ts).
 */
export interface InProcessEmulator extends RunningEmulator {
  logs: string[];
}

export async function startEmulatorInProcess(options: EmulatorOptions = {}): Promise<InProcessEmulator> {
  const logs: string[] = [];
  const emulator = await startEmulator({
    amqpPort: 0,
    healthPort: 0,
    logger: createLogger((options.logLevel ?? 'debug') as LogLevel, (line) => logs.push(line)),
    ...options,
  });
  return Object.assign(emulator, { logs });
}

export interface ReceiveOptions extends SubscribeOptions {
  consumerGroup?: string;
  /** Give up after this long (default 10 s) and return what arrived. */
  timeoutMs?: number;
}

/** Receives up to `count` events from one partition with a fresh consumer client. */
export async function receiveEvents(
  connectionString: string,
  hub: string,
  partitionId: string,
  startPosition: EventPosition,
  count: number,
  options: ReceiveOptions = {},
): Promise<ReceivedEventData[]> {
  const consumer = new EventHubConsumerClient(options.consumerGroup ?? '$default', connectionString, hub);
  const received: ReceivedEventData[] = [];
  const errors: Error[] = [];
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.timeoutMs ?? 10_000);
      consumer.subscribe(
        partitionId,
        {
          processEvents: async (events) => {
            received.push(...events);
            if (received.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
          processError: async (error) => {
            errors.push(error);
          },
        },
        { maxWaitTimeInSeconds: 1, maxBatchSize: Math.min(count, 500), ...options, startPosition },
      );
    });
  } finally {
    await consumer.close();
  }
  if (received.length < count && errors.length) throw errors[0];
  return received;
}

export async function sendBodies(
  connectionString: string,
  hub: string,
  bodies: unknown[],
  options: { partitionId?: string; partitionKey?: string } = {},
): Promise<void> {
  const producer = new EventHubProducerClient(connectionString, hub);
  try {
    await producer.sendBatch(
      bodies.map((body) => ({ body })),
      options,
    );
  } finally {
    await producer.close();
  }
}

/** Resolves with the first error the SDK reports to processError (or undefined on timeout). */
export function firstProcessError(
  consumer: EventHubConsumerClient,
  partitionId: string,
  options: SubscribeOptions,
  timeoutMs = 10_000,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    consumer.subscribe(
      partitionId,
      {
        processEvents: async () => undefined,
        processError: async (error) => {
          clearTimeout(timer);
          resolve(error);
        },
      },
      { maxWaitTimeInSeconds: 1, ...options },
    );
  });
}

/**
 * Runs the emulator CLI as a bare child process, for tests of the CLI itself: any flags (wrong
 * ones too), its exit code, SIGKILL, its pid. Tests that only need a running emulator process
 * use test/support/emulator.ts. `node --import tsx` keeps it one process, so a signal (SIGKILL
 * included) reaches the emulator itself rather than a tsx wrapper.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'local/emulator/cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface CliOutput {
  stdout: string;
  stderr: string;
}

/** Waits for the CLI's ready line; returns the AMQP port and the health port. */
export function waitForReady(
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<{ amqpPort: number; healthPort: number; output: CliOutput }> {
  return new Promise((resolve, reject) => {
    const output: CliOutput = { stdout: '', stderr: '' };
    const timer = setTimeout(
      () => reject(new Error(`emulator not ready:\n${output.stdout}${output.stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
      const match = /ready: AMQP [^:]+:(\d+).*health http:\/\/[^:]+:(\d+)\/health/.exec(output.stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ amqpPort: Number(match[1]), healthPort: Number(match[2]), output });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}:\n${output.stdout}${output.stderr}`));
    });
  });
}

/** Resolves with the exit code (or signal) of a child process. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

/**
 * An emulator that Python's azure-eventhub can reach: it always dials port 5671
 * (azure-eventhub/azure/eventhub/_configuration.py sets connection_port to 5671 whatever the
 * Endpoint says), so the TLS listener must be on 5671, yet tests must not clash with `npm start`,
 * another run or another engineer's emulator. So the emulator binds a random loopback address
 * (127.x.y.z: all of 127/8 is the loopback interface on Linux), TLS on 5671 there and every other
 * port random; the generated certificate names that address (Python trusts it through
 * connection_verify); on a clash another address is tried.
 */
export async function startWithPythonTls(
  certDir: string,
  options: EmulatorOptions = {},
): Promise<InProcessEmulator> {
  for (let attempt = 0; ; attempt++) {
    const octet = (from: number) => from + Math.floor(Math.random() * (255 - from));
    const host = `127.${octet(1)}.${octet(0)}.${octet(1)}`;
    try {
      return await startEmulatorInProcess({ ...options, host, tls: { port: 5671, certDir } });
    } catch (error) {
      if (!(error instanceof EmulatorPortInUseError) || attempt >= 20) throw error;
    }
  }
}
