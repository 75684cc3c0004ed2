// npm run bench:emulator - the Event Hubs emulator's speed and memory, in one run (about 3 minutes):
//   1. events/s in: 1 KB JSON events in batches of 100 for ROUND_MS, in three shapes (INGEST_SHAPES):
//      one producer client awaiting each send before the next; one producer client with
//      SENDS_IN_FLIGHT sends outstanding (as the app's one shared producer under concurrent
//      requests); four producer clients, each awaiting its sends;
//   2. events/s out: one consumer client reading EGRESS_EVENTS back from the earliest position;
//   3. latency from send to receive at a steady 5,000 events/s (batches of 50 every 10 ms), on a
//      fresh emulator with the default retention;
//   4. memory: RSS of the emulator while many times its retention cap is pushed through;
//   5. the disk under --data-dir: durable (O_DSYNC) appends of one batch's records, one at a time,
//      the wait that every acknowledged send of a one-at-a-time producer includes; the table
//      prints the ceiling it puts on that producer (in memory's round trip plus one write).
// Phases 1-3 run against an in-memory emulator and one with --data-dir (every send acknowledged
// only once its events are on disk), ROUNDS rounds each, the two alternating round by round so
// both see the same load; the table prints medians, the spread (min-max) and the ratio
// --data-dir / in memory. The emulator is a child process, as users run it; the SDK clients run in
// this process. Both share this machine's CPUs with whatever else runs: figures are noisy, which
// is why rounds are repeated and medians quoted. Nothing is asserted. Every phase has a deadline:
// a phase that does not finish in time (a consumer that stops receiving, an emulator that died)
// stops the run with a message naming the phase and what it was waiting for.
import {
  earliestEventPosition,
  type EventDataBatch,
  EventHubConsumerClient,
  EventHubProducerClient,
  latestEventPosition,
} from '@azure/event-hubs';
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmulatorProcess } from '../local/stack/processes';
import { cpuSeconds, memoryBytes } from './lib/processStats';

const HUB = 'events';
const EVENT_BYTES = 1024;
const EVENTS_PER_BATCH = 100;
const SEVERAL_PRODUCERS = 4;
const SENDS_IN_FLIGHT = 4;
/** Who sends in phase 1: producer clients, and how many sends each keeps outstanding. */
const INGEST_SHAPES = [
  { key: 'inOne', producers: 1, inFlight: 1, label: '1 producer, 1 send at a time' },
  {
    key: 'inPipelined',
    producers: 1,
    inFlight: SENDS_IN_FLIGHT,
    label: `1 producer, ${SENDS_IN_FLIGHT} sends in flight`,
  },
  { key: 'inSeveral', producers: SEVERAL_PRODUCERS, inFlight: 1, label: `${SEVERAL_PRODUCERS} producers` },
] as const;
type IngestKey = (typeof INGEST_SHAPES)[number]['key'];
/** Durable appends timed by the disk probe, and the size of each: one batch's records. */
const DISK_PROBE_WRITES = 300;
/** A stored event beyond its body: AMQP sections and annotations (~110 bytes) and its record header (36). */
const RECORD_OVERHEAD_BYTES = 150;
const ROUNDS = 3;
const ROUND_MS = 4_000;
const EGRESS_EVENTS = 200_000;
const LATENCY_RATE_PER_S = 5_000;
const LATENCY_BATCH = 50;
const LATENCY_MS = 4_000;
const LATENCY_WARMUP_MS = 500;
const MEMORY_CAP_PER_PARTITION_MB = 16;
const MEMORY_PUSH_MB = 800;
const MB = 1024 * 1024;
/** Deadlines per phase: generous (a loaded machine is slow), but bounded. */
const INGEST_DEADLINE_MS = ROUND_MS + 60_000;
const EGRESS_DEADLINE_MS = 90_000;
const LATENCY_DEADLINE_MS = LATENCY_WARMUP_MS + LATENCY_MS + 60_000;
const MEMORY_DEADLINE_MS = 240_000;
const CLOSE_DEADLINE_MS = 10_000;

const STORAGES = [
  { label: 'in memory', args: [] as string[] },
  { label: '--data-dir', args: ['--data-dir'] },
] as const;

interface StorageRounds extends Record<IngestKey, number[]> {
  out: number[];
  p50: number[];
  p99: number[];
  peakRssMb: number | undefined;
  cpuMsPer1000: number | undefined;
}

/** Thrown when a phase misses its deadline or its emulator exits: the run stops with it. */
class PhaseError extends Error {}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-emulator-'));
  const started = performance.now();
  try {
    console.log(
      `Event Hubs emulator benchmark: ${EVENT_BYTES}-byte events, batches of ${EVENTS_PER_BATCH}, ` +
        `${ROUNDS} rounds of ${ROUND_MS / 1000}s, medians (min-max); ${cpus().length} CPUs shared with anything else running.`,
    );
    // A fresh data directory per phase: the latency emulator starts empty, as a new user's would.
    const argsFor = (phase: string) =>
      STORAGES.map((storage) => (storage.args.length ? ['--data-dir', path.join(dir, phase)] : []));
    const results = await measureThroughput(argsFor('throughput'));
    await measureLatency(argsFor('latency'), results);
    const bound = await measureMemoryBound();
    const disk = await probeDisk(dir);
    printTable(results[0], results[1], bound, disk);
    log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Phases 1 and 2 on both emulators, alternating round by round. */
async function measureThroughput(argsPerStorage: string[][]): Promise<StorageRounds[]> {
  // A cap large enough to keep every event of the rounds.
  const emulators: EmulatorProcess[] = [];
  try {
    for (let s = 0; s < STORAGES.length; s++) {
      emulators.push(
        await startEmulator(STORAGES[s].label, [...argsPerStorage[s], '--retention-size', '1GB']),
      );
    }
    const results: StorageRounds[] = emulators.map(() => ({
      inOne: [],
      inPipelined: [],
      inSeveral: [],
      out: [],
      p50: [],
      p99: [],
      peakRssMb: undefined,
      cpuMsPer1000: undefined,
    }));
    const eventsIn = emulators.map(() => 0);
    const cpuIn = emulators.map(() => 0);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const shape of INGEST_SHAPES) {
        for (let s = 0; s < emulators.length; s++) {
          const phase = `${STORAGES[s].label} round ${round}: in (${shape.label})`;
          const cpuBefore = emulators[s].cpuSeconds();
          const result = await runPhase(phase, emulators[s], INGEST_DEADLINE_MS, (progress) =>
            ingest(emulators[s], shape.producers, shape.inFlight, progress),
          );
          const cpuAfter = emulators[s].cpuSeconds();
          if (cpuBefore !== undefined && cpuAfter !== undefined) cpuIn[s] += cpuAfter - cpuBefore;
          eventsIn[s] += result.events;
          results[s][shape.key].push(result.eventsPerSecond);
          log(`${phase} ${fmt(result.eventsPerSecond)}/s`);
        }
      }
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (let s = 0; s < emulators.length; s++) {
        const phase = `${STORAGES[s].label} round ${round}: out`;
        const out = await runPhase(phase, emulators[s], EGRESS_DEADLINE_MS, (progress) =>
          egress(emulators[s], EGRESS_EVENTS, progress),
        );
        results[s].out.push(out);
        log(`${phase} ${fmt(out)}/s`);
      }
    }
    for (let s = 0; s < emulators.length; s++) {
      results[s].peakRssMb = mb(emulators[s].peakRss());
      results[s].cpuMsPer1000 =
        emulators[s].cpuSeconds() === undefined ? undefined : (cpuIn[s] * 1e6) / eventsIn[s];
    }
    return results;
  } finally {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
  }
}

/** Phase 3: a fresh emulator per storage (default retention), ROUNDS rounds alternating. */
async function measureLatency(argsPerStorage: string[][], results: StorageRounds[]): Promise<void> {
  const emulators: EmulatorProcess[] = [];
  try {
    for (let s = 0; s < STORAGES.length; s++) {
      emulators.push(await startEmulator(`${STORAGES[s].label} (latency)`, argsPerStorage[s]));
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (let s = 0; s < emulators.length; s++) {
        const phase = `${STORAGES[s].label} round ${round}: latency`;
        const latency = await runPhase(phase, emulators[s], LATENCY_DEADLINE_MS, (progress) =>
          sendToReceiveLatency(emulators[s], progress),
        );
        results[s].p50.push(latency.p50);
        results[s].p99.push(latency.p99);
        log(`${phase} p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`);
      }
    }
  } finally {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
  }
}

/** What a phase reports while it runs: quoted when it misses its deadline. */
type Progress = (state: string) => void;

/**
 * Runs one phase with a deadline. It fails, naming the phase and its last reported state, when the
 * deadline passes or the emulator exits; the run then stops (and its emulators with it).
 */
async function runPhase<T>(
  phase: string,
  emulator: EmulatorProcess,
  deadlineMs: number,
  run: (progress: Progress) => Promise<T>,
): Promise<T> {
  let state = 'starting';
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PhaseError(
            `bench: phase "${phase}" did not finish within ${deadlineMs / 1000} s (${state}); stopping`,
          ),
        ),
      deadlineMs,
    );
  });
  const exited = emulator.exited.then(({ code, signal }) => {
    throw new PhaseError(
      `bench: the emulator exited (${signal ?? `code ${code}`}) during phase "${phase}" (${state})`,
    );
  });
  try {
    return await Promise.race([run((next) => (state = next)), deadline, exited]);
  } finally {
    clearTimeout(timer);
  }
}

/** Producers send prebuilt batches back to back, each keeping `inFlight` sends unacknowledged. */
async function ingest(
  emulator: EmulatorProcess,
  producers: number,
  inFlight: number,
  progress: Progress,
): Promise<{ eventsPerSecond: number; events: number }> {
  const clients = Array.from(
    { length: producers },
    () => new EventHubProducerClient(emulator.connectionString, HUB),
  );
  try {
    // Batches are built once (the SDK's encoding is the client's cost, not the emulator's) and
    // cycled; every send still goes through sendBatch and the wire as usual.
    progress('building batches');
    const batches = await Promise.all(clients.map((client) => buildBatches(client, 8)));
    progress('opening the links');
    await Promise.all(clients.map((client, i) => client.sendBatch(batches[i][0])));
    let events = 0;
    const start = performance.now();
    const end = start + ROUND_MS;
    const sender = async (client: EventHubProducerClient, own: EventDataBatch[], first: number) => {
      for (let n = first; performance.now() < end; n += inFlight) {
        const batch = own[n % own.length];
        await client.sendBatch(batch);
        events += batch.count;
        progress(`${events} events acknowledged`);
      }
    };
    await Promise.all(
      clients.flatMap((client, i) =>
        Array.from({ length: inFlight }, (_, first) => sender(client, batches[i], first)),
      ),
    );
    return { eventsPerSecond: events / ((performance.now() - start) / 1000), events };
  } finally {
    progress('closing the producers');
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

/** The last error the SDK reported to a subscription, for a phase's deadline message. */
function lastError(errors: Error[]): string {
  const error = errors[errors.length - 1];
  return error ? `; ${errors.length} SDK errors, the last: ${error.name}: ${error.message}` : '';
}

/** One consumer client reads every partition from the earliest event until it has `total` events. */
async function egress(emulator: EmulatorProcess, total: number, progress: Progress): Promise<number> {
  const consumer = new EventHubConsumerClient('$default', emulator.connectionString, HUB);
  let received = 0;
  let first = 0;
  let last = 0;
  const errors: Error[] = [];
  const started = performance.now();
  const report = () =>
    progress(
      `${received} of ${total} events received` +
        (last ? `, the last ${((last - started) / 1000).toFixed(1)} s into the phase` : '') +
        lastError(errors),
    );
  try {
    report();
    await new Promise<void>((resolve) => {
      consumer.subscribe(
        {
          processEvents: async (events) => {
            if (!events.length) return;
            if (!first) first = performance.now();
            received += events.length;
            last = performance.now();
            report();
            if (received >= total) resolve();
          },
          processError: async (error) => {
            errors.push(error);
            report();
          },
        },
        { startPosition: earliestEventPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 1 },
      );
    });
  } finally {
    progress(`${received} of ${total} events received; closing the consumer${lastError(errors)}`);
    await closeWithin(consumer, 'the out consumer');
  }
  // From the first event to the last: link setup (a few hundred ms) is not throughput.
  return received / ((last - first) / 1000);
}

/**
 * A bound on the consumer's close(), which once hung when the emulator sent transfers after a
 * link's detach or closed the connection for the client's session flow after its end (issue 16,
 * test/integration/emulator/closeWhileReceiving.test.ts): the figure is measured by then, so the
 * run goes on without the client and says so.
 */
async function closeWithin(client: { close(): Promise<void> }, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    client.close().then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_DEADLINE_MS))),
  ]).finally(() => clearTimeout(timer));
  if (gaveUp)
    log(`${what}: close() did not return within ${CLOSE_DEADLINE_MS / 1000} s; continuing without it`);
}

/** Sends LATENCY_BATCH events every 10 ms and measures, per event, send start to processEvents. */
async function sendToReceiveLatency(
  emulator: EmulatorProcess,
  progress: Progress,
): Promise<{ p50: number; p99: number }> {
  const producer = new EventHubProducerClient(emulator.connectionString, HUB);
  const consumer = new EventHubConsumerClient('$default', emulator.connectionString, HUB);
  const samples: number[] = [];
  const errors: Error[] = [];
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
        processError: async (error) => void errors.push(error),
      },
      { startPosition: latestEventPosition, maxBatchSize: 200, maxWaitTimeInSeconds: 1 },
    );
    while (ready < 4) {
      progress(`${ready} of 4 partition receivers ready${lastError(errors)}`);
      await sleep(20);
    }
    progress('opening the producer');
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
      progress(`sending batch ${n}, ${samples.length} events received${lastError(errors)}`);
      const sentAt = performance.now();
      inFlight.push(
        producer.sendBatch(Array.from({ length: LATENCY_BATCH }, () => ({ body, properties: { sentAt } }))),
      );
      if (inFlight.length > 100) await Promise.all(inFlight.splice(0, 50));
    }
    progress(`waiting for the last acknowledgements, ${samples.length} events received${lastError(errors)}`);
    await Promise.all(inFlight);
    await sleep(1000);
  } finally {
    progress('closing the clients');
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
  const emulator = await startEmulator('in memory (memory bound)', [
    '--retention-size',
    `${MEMORY_CAP_PER_PARTITION_MB}MB`,
  ]);
  try {
    return await runPhase('memory bound', emulator, MEMORY_DEADLINE_MS, async (progress) => {
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
              progress(`step ${step} of 4: ${sent} of ${stepEvents} events sent`);
            }
          }),
        );
        result.samples.push([(step * MEMORY_PUSH_MB) / 4, mb(emulator.rss())]);
      }
      await Promise.all(clients.map((client) => client.close()));
      result.peakMb = mb(emulator.peakRss());
      log(`memory: ${result.samples.map(([pushed, rss]) => `${rss} MB after ${pushed} MB`).join(', ')}`);
      return result;
    });
  } finally {
    await emulator.stop();
  }
}

interface DiskProbe {
  bytes: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Phase 5: appends of one batch's records to a file in the data directory's file system, each
 * durable when it returns (O_DSYNC, as the emulator writes segments), one at a time.
 */
async function probeDisk(dir: string): Promise<DiskProbe> {
  const bytes = EVENTS_PER_BATCH * (EVENT_BYTES + RECORD_OVERHEAD_BYTES);
  const data = Buffer.alloc(bytes, 0x61);
  const handle = await open(
    path.join(dir, 'disk-probe'),
    constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | (constants.O_DSYNC ?? 0),
  );
  const samples: number[] = [];
  try {
    for (let n = 0; n < DISK_PROBE_WRITES; n++) {
      const started = performance.now();
      await handle.write(data, 0, data.length, n * data.length);
      if (constants.O_DSYNC === undefined) await handle.datasync();
      samples.push(performance.now() - started);
    }
  } finally {
    await handle.close();
  }
  samples.sort((a, b) => a - b);
  const probe = { bytes, p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99) };
  log(
    `disk: ${DISK_PROBE_WRITES} durable appends of ${fmt(bytes)} bytes, p50 ${probe.p50Ms.toFixed(2)} ms, p99 ${probe.p99Ms.toFixed(2)} ms`,
  );
  return probe;
}

function printTable(
  memory: StorageRounds,
  persisted: StorageRounds,
  bound: MemoryBound,
  disk: DiskProbe,
): void {
  const spreadOf = (values: number[], format: (n: number) => string) =>
    `${format(Math.min(...values))}-${format(Math.max(...values))}`;
  type Row = [
    name: string,
    values: (r: StorageRounds) => number[],
    format: (n: number) => string,
    target: string,
  ];
  const rows: Row[] = [
    ...INGEST_SHAPES.map((shape): Row => [
      `events/s in, ${shape.label}`,
      (r) => r[shape.key],
      fmt,
      '>= 50,000',
    ]),
    ['events/s out, 1 consumer', (r) => r.out, fmt, '>= 50,000'],
    [`send->receive p50 at ${fmt(LATENCY_RATE_PER_S)}/s (ms)`, (r) => r.p50, (n) => n.toFixed(1), ''],
    [`send->receive p99 at ${fmt(LATENCY_RATE_PER_S)}/s (ms)`, (r) => r.p99, (n) => n.toFixed(1), '< 50'],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  const cell = 24;
  console.log('');
  console.log(
    `${''.padEnd(width)}${'in memory'.padStart(cell)}${'--data-dir'.padStart(cell)}${'ratio'.padStart(8)}   target`,
  );
  for (const [name, values, format, target] of rows) {
    const a = values(memory);
    const b = values(persisted);
    const show = (v: number[]) => `${format(median(v))} (${spreadOf(v, format)})`;
    const ratio = median(a) ? (median(b) / median(a)).toFixed(2) : '';
    console.log(
      `${name.padEnd(width)}${show(a).padStart(cell)}${show(b).padStart(cell)}${ratio.padStart(8)}   ${target}`,
    );
  }
  const single: [string, (r: StorageRounds) => number | undefined, (n: number) => string][] = [
    ['emulator CPU ms per 1,000 events in', (r) => r.cpuMsPer1000, (n) => n.toFixed(1)],
    ['emulator peak RSS, MB (cap 1 GB/partition)', (r) => r.peakRssMb, (n) => String(n)],
  ];
  for (const [name, value, format] of single) {
    const a = value(memory);
    const b = value(persisted);
    const ratio = a && b !== undefined ? (b / a).toFixed(2) : '';
    console.log(
      `${name.padEnd(width)}${(a === undefined ? 'n/a' : format(a)).padStart(cell)}` +
        `${(b === undefined ? 'n/a' : format(b)).padStart(cell)}${ratio.padStart(8)}`,
    );
  }
  // A producer that awaits each send waits, per batch, for in memory's round trip plus one write.
  const roundTripMs = (1000 * EVENTS_PER_BATCH) / median(memory.inOne);
  const ceiling = (1000 * EVENTS_PER_BATCH) / (roundTripMs + disk.p50Ms);
  console.log('');
  console.log(
    `disk: a durable append of one batch (${fmt(disk.bytes)} bytes) takes ${disk.p50Ms.toFixed(2)} ms (p50), ` +
      `${disk.p99Ms.toFixed(2)} ms (p99); with in memory's ${roundTripMs.toFixed(2)} ms round trip per batch, ` +
      `1 producer sending 1 batch at a time can reach at most ${fmt(ceiling)} events/s with --data-dir ` +
      '(an upper bound: the CPU of the write and its thread-pool hop come on top)',
  );
  console.log(
    `memory bound: retention cap ${bound.capMb} MB (4 partitions x ${MEMORY_CAP_PER_PARTITION_MB} MB); ` +
      `emulator RSS ${bound.idleMb ?? 'n/a'} MB idle, ` +
      bound.samples.map(([pushed, rss]) => `${rss ?? 'n/a'} MB after ${pushed} MB pushed`).join(', ') +
      `; peak ${bound.peakMb ?? 'n/a'} MB`,
  );
  console.log(
    `(medians of ${ROUNDS} rounds, min-max in parentheses; ratio = --data-dir / in memory, of the medians; ` +
      '"in" figures exclude the SDK encoding of batches, built once and resent; CPU over all "in" rounds)',
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

main().then(
  // SDK clients a failed phase left open must not keep the process alive.
  () => process.exit(0),
  (error) => {
    console.error(error instanceof PhaseError ? error.message : error);
    process.exit(1);
  },
);

interface EmulatorProcess {
  connectionString: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  cpuSeconds(): number | undefined;
  rss(): number | undefined;
  peakRss(): number | undefined;
  stop(): Promise<void>;
}

/** The emulator CLI as a child process (as `npm run emulator` runs it), with its CPU and memory. */
async function startEmulator(label: string, args: string[]): Promise<EmulatorProcess> {
  const emulator = await startEmulatorProcess({ amqpPort: 0, healthPort: 0, extraArgs: args }).catch(
    (error: Error) => {
      throw new PhaseError(`bench: the ${label} emulator did not start: ${error.message}`);
    },
  );
  const pid = emulator.child.process.pid!;
  let stopping = false;
  return {
    connectionString: emulator.connectionString,
    // Only an exit nobody asked for fails a phase.
    exited: emulator.child.exited.then((result) => (stopping ? new Promise<never>(() => undefined) : result)),
    cpuSeconds: () => cpuSeconds(pid),
    rss: () => memoryBytes(pid, 'VmRSS'),
    peakRss: () => memoryBytes(pid, 'VmHWM'),
    stop: () => {
      stopping = true;
      return emulator.stop();
    },
  };
}
