// The emulator as its own process (the CLI), for hostile-input tests judged by outcome: it is still
// alive, still serves a normal SDK client, logged nothing at error level, and its memory (read
// from /proc) stayed within a bound.
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from '@azure/event-hubs';
import { type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type CliOutput, exited, spawnCli, waitForReady } from './helpers';
import { emulatorConnectionString } from '../../support/connectionStrings';

export class ObservedEmulator {
  private served = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly amqpPort: number,
    private readonly output: CliOutput,
  ) {}

  static async start(args: string[] = []): Promise<ObservedEmulator> {
    const child = spawnCli(['--port', '0', '--health-port', '0', ...args]);
    const ready = await waitForReady(child);
    return new ObservedEmulator(child, ready.amqpPort, ready.output);
  }

  get endpoint(): string {
    return `sb://127.0.0.1:${this.amqpPort}`;
  }

  get connectionString(): string {
    return emulatorConnectionString(this.amqpPort);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything the emulator printed so far. */
  get log(): string {
    return this.output.stdout + this.output.stderr;
  }

  /** Lines logged at error level (an emulator fault, never a client's). */
  errorLines(): string[] {
    return this.log.split('\n').filter((line) => / ERROR /.test(line));
  }

  /** Lines logged at warn level that mention `text`. */
  warnings(text: string): string[] {
    return this.log.split('\n').filter((line) => / WARN /.test(line) && line.includes(text));
  }

  /** Resident and peak resident memory of the emulator process, in MB (Linux /proc). */
  memoryMb(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  }

  /** A normal SDK producer and consumer still work: one event sent to `partitionId` is received. */
  async stillServes(partitionId = '3'): Promise<void> {
    if (!this.alive) throw new Error(`the emulator exited:\n${this.log}`);
    const body = `still serving ${++this.served}`;
    const producer = new EventHubProducerClient(this.connectionString, 'events');
    const consumer = new EventHubConsumerClient('$default', this.connectionString, 'events');
    try {
      // From the end: after a fuzz run a partition holds thousands of events.
      const before = await producer.getPartitionProperties(partitionId);
      const startPosition = before.isEmpty
        ? earliestEventPosition
        : { sequenceNumber: before.lastEnqueuedSequenceNumber, isInclusive: false };
      await producer.sendBatch([{ body }], { partitionId });
      const received = await new Promise<unknown[]>((resolve, reject) => {
        const errors: string[] = [];
        const timer = setTimeout(
          () =>
            reject(new Error(`'${body}' was not received; consumer errors: ${errors.join('; ') || 'none'}`)),
          20_000,
        );
        const bodies: unknown[] = [];
        const subscription = consumer.subscribe(
          partitionId,
          {
            processEvents: async (events) => {
              bodies.push(...events.map((event) => event.body));
              if (bodies.includes(body)) {
                clearTimeout(timer);
                await subscription.close();
                resolve(bodies);
              }
            },
            processError: async (error) => {
              errors.push(`${(error as { code?: string }).code ?? ''} ${error.message}`);
            },
          },
          { startPosition, maxWaitTimeInSeconds: 1, maxBatchSize: 100 },
        );
      });
      if (!received.includes(body)) throw new Error(`'${body}' was not received`);
    } finally {
      await producer.close();
      await consumer.close();
    }
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    await exited(this.child);
  }
}
