// An in-memory EventProducer for unit tests of parsing, validation and the faults the emulator cannot
// produce on demand (a later batch failing, throttling). Real publishing is tested in test/integration/app.
import type { CreateBatchOptions, EventData, EventDataBatch, OperationOptions } from '@azure/event-hubs';
import type { EventProducer } from '../../../src/lib/publish/publisher';

/** Rough AMQP cost of one event on top of its body and properties; enough to exercise batch limits. */
const PER_EVENT_OVERHEAD = 16;
const PER_BATCH_OVERHEAD = 24;

export class InMemoryBatch implements EventDataBatch {
  readonly events: EventData[] = [];
  sizeInBytes = PER_BATCH_OVERHEAD;
  constructor(
    readonly maxSizeInBytes: number,
    readonly partitionKey?: string,
    readonly partitionId?: string,
  ) {}
  get count(): number {
    return this.events.length;
  }
  tryAdd(event: EventData): boolean {
    const size = eventSize(event);
    if (this.sizeInBytes + size > this.maxSizeInBytes) return false;
    this.sizeInBytes += size;
    this.events.push(event);
    return true;
  }
}

export function eventSize(event: EventData): number {
  const body = Buffer.isBuffer(event.body)
    ? event.body.length
    : Buffer.byteLength(JSON.stringify(event.body));
  const properties = event.properties ? Buffer.byteLength(JSON.stringify(event.properties)) : 0;
  return PER_EVENT_OVERHEAD + body + properties;
}

export interface SentBatch {
  partitionKey?: string;
  partitionId?: string;
  events: EventData[];
}

export class InMemoryProducer implements EventProducer {
  readonly sent: SentBatch[] = [];
  partitionIdsCalls = 0;
  createBatchCalls = 0;
  sendCalls = 0;
  /** Errors thrown by the n-th (0-based) sendBatch call. */
  readonly sendFailures = new Map<number, unknown>();
  createBatchFailure: unknown;
  partitionIdsFailure: unknown;
  /** When set, sendBatch never completes on its own: it waits for the abort signal, like a silent network. */
  hangOnSend = false;
  /** The n-th (0-based) sendBatch call hangs like hangOnSend; earlier calls succeed. */
  hangOnSendCall: number | undefined;

  constructor(
    readonly partitionIds: string[] = ['0', '1', '2', '3'],
    readonly maxBatchBytes = 1024,
  ) {}

  async getPartitionIds(): Promise<string[]> {
    this.partitionIdsCalls += 1;
    if (this.partitionIdsFailure !== undefined) throw this.partitionIdsFailure;
    return [...this.partitionIds];
  }

  async createBatch(options: CreateBatchOptions): Promise<EventDataBatch> {
    this.createBatchCalls += 1;
    if (this.createBatchFailure !== undefined) throw this.createBatchFailure;
    return new InMemoryBatch(this.maxBatchBytes, options.partitionKey, options.partitionId);
  }

  async sendBatch(batch: EventDataBatch, options: OperationOptions): Promise<void> {
    const call = this.sendCalls++;
    if (this.hangOnSend || this.hangOnSendCall === call) await waitForAbort(options.abortSignal);
    if (this.sendFailures.has(call)) throw this.sendFailures.get(call);
    const { partitionKey, partitionId, events } = batch as InMemoryBatch;
    this.sent.push({ partitionKey, partitionId, events: [...events] });
  }

  get sentEvents(): EventData[] {
    return this.sent.flatMap((batch) => batch.events);
  }
}

function waitForAbort(signal: OperationOptions['abortSignal']): Promise<never> {
  return new Promise((_, reject) => {
    const abort = () =>
      reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }));
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort);
  });
}
