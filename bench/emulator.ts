// npm run bench:emulator - the Event Hubs emulator's speed and memory, in one run (about 3 minutes):
//   1. events/s in: 1 KB JSON events in batches of 100, one producer client, then four, each
//      sending batches back to back for ROUND_MS; medians of ROUNDS rounds;
//   2. events/s out: one consumer client reading everything back from the earliest position;
//   3. latency from send to receive at a steady 5,000 events/s (batches of 50 every 10 ms), on a
//      fresh emulator with the default retention;
//   4. memory: RSS of the emulator while many times its retention cap is pushed through.
// Phases 1-3 run against an in-memory emulator and one with --data-dir (fdatasync before each
// acknowledgement), printed side by side. The emulator is a child process, as users run it; the SDK
// clients run in this process. Both share this machine's CPUs with whatever else runs: figures
// are noisy, which is why rounds are repeated and medians quoted. Nothing is asserted.
import {
  earliestEventPosition,
  EventDataBatch,
  EventHubConsumerClient,
  EventHubProducerClient,
  latestEventPosition,
} from '@azure/event-hubs';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmulatorProcess } from '../local/stack/processes';
import { cpuSeconds, memoryBytes } from './lib/processStats';

const HUB = 'events';
const EVENT_BYTES = 1024;
const EVENTS_PER_BATCH = 100;
const SEVERAL_PRODUCERS = 4;
const ROUNDS = 3;
const ROUND_MS = 4_000;
const LATENCY_RATE_PER_S = 5_000;
const LATENCY_BATCH = 50;
const LATENCY_MS = 10_000;
const LATENCY_WARMUP_MS = 1_000;
const MEMORY_CAP_PER_PARTITION_MB = 16;
const MEMORY_PUSH_MB = 800;
const MB = 1024 * 1024;

interface StorageResult {
  inOne: number;
  inSeveral: number;
  out: number;
  p50: number;
  p99: number;
  peakRssMb: number | undefined;
  cpuMsPer1000: number | undefined;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-emulator-'));
  try {
    console.log(
      `Event Hubs emulator benchmark: ${EVENT_BYTES}-byte events, batches of ${EVENTS_PER_BATCH}, ` +
        `${ROUNDS} rounds of ${ROUND_MS / 1000}s, medians; ${cpus().length} CPUs shared with anything else running.`,
    );
    const memory = await measureStorage('in memory', []);
    const persisted = await measureStorage('--data-dir', ['--data-dir', path.join(dir, 'data')]);
    const bound = await measureMemoryBound();
    printTable(memory, persisted, bound);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureStorage(label: string, args: string[]): Promise<StorageResult> {
  // A cap large enough to keep every event of the rounds for the read-back phase.
  const emulator = await startEmulator([...args, '--retention-size', '1GB']);
  try {
    const cpuBefore = emulator.cpuSeconds();
    let eventsIn = 0;
    const inOne: number[] = [];
    const inSeveral: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const one = await ingest(emulator, 1);
      const several = await ingest(emulator, SEVERAL_PRODUCERS);
      inOne.push(one.eventsPerSecond);
      inSeveral.push(several.eventsPerSecond);
      eventsIn += one.events + several.events;
      log(
        `${label} round ${round + 1}: in ${fmt(one.eventsPerSecond)}/s (1), ${fmt(several.eventsPerSecond)}/s (${SEVERAL_PRODUCERS})`,
      );
    }
    const cpuAfter = emulator.cpuSeconds();
    const out: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      out.push(await egress(emulator, eventsIn));
      log(`${label} round ${round + 1}: out ${fmt(out[round])}/s`);
    }
    const peakRssMb = mb(emulator.peakRss());
    await emulator.stop();
    const latencyEmulator = await startEmulator(args);
    const latency = await measureLatency(latencyEmulator).finally(() => latencyEmulator.stop());
    log(`${label}: latency p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`);
    return {
      inOne: median(inOne),
      inSeveral: median(inSeveral),
      out: median(out),
      p50: latency.p50,
      p99: latency.p99,
      peakRssMb,
      cpuMsPer1000:
        cpuBefore === undefined || cpuAfter === undefined
          ? undefined
          : ((cpuAfter - cpuBefore) * 1e6) / eventsIn,
    };
  } finally {
    await emulator.stop();
  }
}

/** Producers send prebuilt batches back to back, each waiting for its acknowledgement. */
async function ingest(
  emulator: EmulatorProcess,
  producers: number,
): Promise<{ eventsPerSecond: number; events: number }> {
  const clients = Array.from(
    { length: producers },
    () => new EventHubProducerClient(emulator.connectionString, HUB),
  );
  try {
    // Batches are built once (the SDK's encoding is the client's cost, not the emulator's) and
    // cycled; every send still goes through sendBatch and the wire as usual.
    const batches = await Promise.all(clients.map((client) => buildBatches(client, 8)));
    await Promise.all(clients.map((client, i) => client.sendBatch(batches[i][0]))); // links up
    let events = 0;
    const start = performance.now();
    const end = start + ROUND_MS;
    await Promise.all(
      clients.map(async (client, i) => {
        for (let n = 0; performance.now() < end; n++) {
          const batch = batches[i][n % batches[i].length];
          await client.sendBatch(batch);
          events += batch.count;
        }
      }),
    );
    return { eventsPerSecond: events / ((performance.now() - start) / 1000), events };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** A JSON body of EVENT_BYTES bytes, like the app's events. */
function jsonBody(id: number): Record<string, unknown> {
  const body = { id, type: 'bench', payload: '' };
  body.payload = 'x'.repeat(EVENT_BYTES - JSON.stringify(body).length);
  return body;
}

async function buildBatches(client: EventHubProducerClient, count: number): Promise<EventDataBatch[]> {
  const batches = [];
  for (let b = 0; b < count; b++) {
    const batch = await client.createBatch();
    for (let i = 0; i < EVENTS_PER_BATCH; i++) {
      if (!batch.tryAdd({ body: jsonBody(b * EVENTS_PER_BATCH + i) })) throw new Error('batch full');
    }
    batches.push(batch);
  }
  return batches;
}

/** One consumer client reads every partition from the earliest event until it has `total` events. */
async function egress(emulator: EmulatorProcess, total: number): Promise<number> {
  const consumer = new EventHubConsumerClient('$default', emulator.connectionString, HUB);
  let received = 0;
  let first = 0;
  let last = 0;
  try {
    await new Promise<void>((resolve) => {
      consumer.subscribe(
        {
          processEvents: async (events) => {
            if (!events.length) return;
            if (!first) first = performance.now();
            received += events.length;
            last = performance.now();
            if (received >= total) resolve();
          },
          processError: async () => undefined,
        },
        { startPosition: earliestEventPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 1 },
      );
    });
  } finally {
    await consumer.close();
  }
  // From the first event to the last: link setup (a few hundred ms) is not throughput.
  return received / ((last - first) / 1000);
}

/** Sends LATENCY_BATCH events every 10 ms and measures, per event, send start to processEvents. */
async function measureLatency(emulator: EmulatorProcess): Promise<{ p50: number; p99: number }> {
  const producer = new EventHubProducerClient(emulator.connectionString, HUB);
  const consumer = new EventHubConsumerClient('$default', emulator.connectionString, HUB);
  const samples: number[] = [];
  let measuring = false;
  try {
    let ready = 0;
    consumer.subscribe(
      {
        processInitialize: async () => void ready++,
        processEvents: async (events) => {
          const now = performance.now();
          if (!measuring) return;
          for (const event of events) samples.push(now - (event.properties!.sentAt as number));
        },
        processError: async () => undefined,
      },
      { startPosition: latestEventPosition, maxBatchSize: 200, maxWaitTimeInSeconds: 1 },
    );
    while (ready < 4) await sleep(20);
    await producer.getPartitionIds();
    await sleep(300);
    const intervalMs = (1000 * LATENCY_BATCH) / LATENCY_RATE_PER_S;
    const body = jsonBody(0);
    const start = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let n = 0; ; n++) {
      const due = start + n * intervalMs;
      if (due > start + LATENCY_WARMUP_MS + LATENCY_MS) break;
      measuring = due >= start + LATENCY_WARMUP_MS;
      await sleep(due - performance.now());
      const sentAt = performance.now();
      inFlight.push(
        producer.sendBatch(Array.from({ length: LATENCY_BATCH }, () => ({ body, properties: { sentAt } }))),
      );
      if (inFlight.length > 100) await Promise.all(inFlight.splice(0, 50));
    }
    await Promise.all(inFlight);
    await sleep(1000);
  } finally {
    await consumer.close();
    await producer.close();
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

interface MemoryBound {
  capMb: number;
  idleMb?: number;
  /** [MB pushed so far, RSS then in MB] */
  samples: [number, number | undefined][];
  peakMb?: number;
}

/** Pushes MEMORY_PUSH_MB through an emulator capped at MEMORY_CAP_PER_PARTITION_MB per partition. */
async function measureMemoryBound(): Promise<MemoryBound> {
  const emulator = await startEmulator(['--retention-size', `${MEMORY_CAP_PER_PARTITION_MB}MB`]);
  try {
    const result: MemoryBound = {
      capMb: 4 * MEMORY_CAP_PER_PARTITION_MB,
      idleMb: mb(emulator.rss()),
      samples: [],
    };
    const clients = Array.from(
      { length: SEVERAL_PRODUCERS },
      () => new EventHubProducerClient(emulator.connectionString, HUB),
    );
    const batches = await Promise.all(clients.map((client) => buildBatches(client, 8)));
    const stepEvents = (MEMORY_PUSH_MB * MB) / EVENT_BYTES / 4;
    for (let step = 1; step <= 4; step++) {
      let sent = 0;
      await Promise.all(
        clients.map(async (client, i) => {
          for (let n = 0; sent < stepEvents; n++) {
            const batch = batches[i][n % batches[i].length];
            sent += batch.count;
            await client.sendBatch(batch);
          }
        }),
      );
      result.samples.push([(step * MEMORY_PUSH_MB) / 4, mb(emulator.rss())]);
    }
    await Promise.all(clients.map((client) => client.close()));
    result.peakMb = mb(emulator.peakRss());
    log(`memory: ${result.samples.map(([pushed, rss]) => `${rss} MB after ${pushed} MB`).join(', ')}`);
    return result;
  } finally {
    await emulator.stop();
  }
}

function printTable(memory: StorageResult, persisted: StorageResult, bound: MemoryBound): void {
  const rows: [string, (r: StorageResult) => string, string][] = [
    ['events/s in, 1 producer', (r) => fmt(r.inOne), '>= 50,000'],
    [`events/s in, ${SEVERAL_PRODUCERS} producers`, (r) => fmt(r.inSeveral), '>= 50,000'],
    ['events/s out, 1 consumer', (r) => fmt(r.out), '>= 50,000'],
    [`send->receive p50 at ${fmt(LATENCY_RATE_PER_S)}/s (ms)`, (r) => r.p50.toFixed(1), ''],
    [`send->receive p99 at ${fmt(LATENCY_RATE_PER_S)}/s (ms)`, (r) => r.p99.toFixed(1), '< 50'],
    [
      'emulator CPU ms per 1,000 events in',
      (r) => (r.cpuMsPer1000 === undefined ? 'n/a' : r.cpuMsPer1000.toFixed(1)),
      '',
    ],
    ['emulator peak RSS, MB (cap 1 GB/partition)', (r) => String(r.peakRssMb ?? 'n/a'), ''],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  console.log('');
  console.log(
    `${''.padEnd(width)}${'in memory'.padStart(12)}${'--data-dir'.padStart(12)}${'ratio'.padStart(8)}   target`,
  );
  for (const [name, value, target] of rows) {
    const a = value(memory);
    const b = value(persisted);
    const ratio = Number(a.replace(/,/g, ''))
      ? (Number(b.replace(/,/g, '')) / Number(a.replace(/,/g, ''))).toFixed(2)
      : '';
    console.log(`${name.padEnd(width)}${a.padStart(12)}${b.padStart(12)}${ratio.padStart(8)}   ${target}`);
  }
  console.log('');
  console.log(
    `memory bound: retention cap ${bound.capMb} MB (4 partitions x ${MEMORY_CAP_PER_PARTITION_MB} MB); ` +
      `emulator RSS ${bound.idleMb ?? 'n/a'} MB idle, ` +
      bound.samples.map(([pushed, rss]) => `${rss ?? 'n/a'} MB after ${pushed} MB pushed`).join(', ') +
      `; peak ${bound.peakMb ?? 'n/a'} MB`,
  );
  console.log(
    '(ratio = --data-dir / in memory; "in" figures exclude the SDK encoding of batches, built once and resent)',
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function mb(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / MB);
}

function log(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

interface EmulatorProcess {
  connectionString: string;
  cpuSeconds(): number | undefined;
  rss(): number | undefined;
  peakRss(): number | undefined;
  stop(): Promise<void>;
}

/** The emulator CLI as a child process (as `npm run emulator` runs it), with its CPU and memory. */
async function startEmulator(args: string[]): Promise<EmulatorProcess> {
  const emulator = await startEmulatorProcess({ amqpPort: 0, healthPort: 0, extraArgs: args });
  const pid = emulator.child.process.pid!;
  return {
    connectionString: emulator.connectionString,
    cpuSeconds: () => cpuSeconds(pid),
    rss: () => memoryBytes(pid, 'VmRSS'),
    peakRss: () => memoryBytes(pid, 'VmHWM'),
    stop: () => emulator.stop(),
  };
}
