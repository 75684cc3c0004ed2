// npm run bench:e2e - the pipeline's speed, side by side, in one run (about 3 minutes):
//   1. events/s through POST /api/events on the local host (100 events of 1 KB per request,
//      CLIENTS concurrent clients) against a bare EventHubProducerClient loop sending the same batches
//      with one shared client, and against a new producer client per request (the quickstart's
//      pattern); ROUNDS interleaved rounds each, medians reported;
//   2. the latency from the 202 answer to the consumer's invocation at a steady 1,000 events/s;
//   3. the consumer's throughput: CONSUMED_EVENTS events put in a hub first, then events/s through the
//      Event Hubs trigger until every one was invoked, logged and checkpointed, with the host's CPU per
//      event and the time inside processEvents' invocations per event.
// Azurite, the Event Hubs emulator (in memory) and the local host run as child processes on free
// ports, as in `npm start`. Nothing here is asserted: it prints figures.
import { EventHubProducerClient } from '@azure/event-hubs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { startAzurite } from '../local/azurite';
import { BlobServiceClient } from '@azure/storage-blob';
import { readRecords } from '../local/host';
import { checkpointStore, readCheckpoints } from '../src/lib/consume/checkpoints';
import { REPO_ROOT } from '../local/stack/childProcess';
import { startEmulatorProcess, startHostProcess } from '../local/stack/processes';
import { cpuSeconds } from './lib/processStats';
import { SETTING_NAMES } from '../src/lib/settings';
import { format, medianOf } from './lib/figures';

/** Separate hubs, so the latency run's consumer does not first wade through the throughput runs' events. */
const THROUGHPUT_HUB = 'bench-throughput';
const LATENCY_HUB = 'bench-latency';
const CONSUMER_HUB = 'bench-consumer';
const CONSUMED_EVENTS = 40_000;
const CONSUMER_GROUP = 'processor';
const EVENTS_PER_REQUEST = 100;
const EVENT_BYTES = 1024;
const CLIENTS = 8;
const ROUNDS = 3;
const ROUND_MS = 5_000;
const LATENCY_RATE_PER_S = 1_000;
const LATENCY_MS = 15_000;

type Sender = (events: Buffer[]) => Promise<void>;

interface Round {
  eventsPerSecond: number;
  events: number;
  /** CPU seconds used during the round by each process. */
  cpu: { client: number; host: number; emulator: number };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-e2e-'));
  // Whatever has started is stopped again, also when a step fails.
  const stops: (() => Promise<void>)[] = [];
  try {
    await run(dir, stops);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(dir: string, stops: (() => Promise<void>)[]): Promise<void> {
  const azurite = await startAzurite({
    location: path.join(dir, 'azurite'),
    blobPort: 0,
    queuePort: 0,
    tablePort: 0,
  });
  stops.push(() => azurite.stop());
  const configFile = path.join(dir, 'eventhubs-config.json');
  const entity = (name: string) => ({
    Name: name,
    PartitionCount: '4',
    ConsumerGroups: [{ Name: CONSUMER_GROUP }],
  });
  writeFileSync(
    configFile,
    JSON.stringify({
      UserConfig: {
        NamespaceConfig: [
          {
            Type: 'EventHub',
            Name: 'emulatorNs1',
            Entities: [entity(THROUGHPUT_HUB), entity(LATENCY_HUB), entity(CONSUMER_HUB)],
          },
        ],
      },
    }),
  );
  const emulator = await startEmulatorProcess({
    amqpPort: 0,
    healthPort: 0,
    configFile,
    // In memory; the throughput runs publish a few hundred MB that nobody reads.
    extraArgs: ['--retention-size', '16MB'],
  });
  stops.push(() => emulator.stop());
  const settings = (hub: string) => {
    const file = path.join(dir, `${hub}.settings.json`);
    const Values = {
      [SETTING_NAMES.storageConnection]: azurite.connectionString,
      [SETTING_NAMES.eventHubConnection]: emulator.connectionString,
      [SETTING_NAMES.eventHubName]: hub,
      [SETTING_NAMES.consumerGroup]: CONSUMER_GROUP,
    };
    writeFileSync(file, JSON.stringify({ Values }));
    return file;
  };
  console.log(
    `End-to-end benchmark: ${cpus().length} CPUs, Node ${process.version}; Azurite, emulator (in memory) and ` +
      `local host as child processes.\n`,
  );

  // 1. Throughput. The publisher alone (no consumer in the host), so that every mode pays the same.
  const publisher = await startHostProcess({
    appRoot: REPO_ROOT,
    port: 0,
    settingsFile: settings(THROUGHPUT_HUB),
    functions: ['publishEvents'],
  });
  stops.push(() => publisher.stop());
  const shared = new EventHubProducerClient(emulator.connectionString, THROUGHPUT_HUB);
  const modes: [string, Sender][] = [
    ['POST /api/events (local host)', (events) => postEvents(publisher.url, events)],
    ['EventHubProducerClient, one shared client', (events) => sendBatch(shared, events)],
    [
      'new EventHubProducerClient per request',
      async (events) => {
        const client = new EventHubProducerClient(emulator.connectionString, THROUGHPUT_HUB);
        try {
          await sendBatch(client, events);
        } finally {
          await client.close();
        }
      },
    ],
  ];
  const pids = { host: publisher.child.process.pid!, emulator: emulator.child.process.pid! };
  const rounds = new Map<string, Round[]>(modes.map(([name]) => [name, []]));
  for (const [, send] of modes) await throughput(send, 1_000, pids); // warm-up: connections, JIT
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, send] of modes) rounds.get(name)!.push(await throughput(send, ROUND_MS, pids));
  }
  await shared.close();
  await publisher.stop();

  const median = (name: string) => medianOf(rounds.get(name)!.map((r) => r.eventsPerSecond));
  const [http, bare, perRequest] = modes.map(([name]) => median(name));
  console.log(
    `Throughput: ${EVENTS_PER_REQUEST} events of ${EVENT_BYTES} B per request, ${CLIENTS} concurrent clients, ` +
      `median of ${ROUNDS} rounds of ${ROUND_MS / 1000} s:`,
  );
  for (const [name] of modes) {
    const all = rounds
      .get(name)!
      .map((r) => format(r.eventsPerSecond))
      .join(', ');
    console.log(`  ${name.padEnd(44)} ${format(median(name)).padStart(7)} events/s   (rounds: ${all})`);
  }
  console.log(`  ratio HTTP / shared producer                 ${(http / bare).toFixed(2)}`);
  console.log(`  ratio HTTP / producer per request            ${(http / perRequest).toFixed(2)}`);
  console.log('CPU per event (all rounds; client = this process, host = the local host, emulator):');
  for (const [name] of modes) {
    const all = rounds.get(name)!;
    const events = all.reduce((n, r) => n + r.events, 0);
    const perEvent = (key: keyof Round['cpu']) => (1e6 * all.reduce((n, r) => n + r.cpu[key], 0)) / events;
    const [client, host, emu] = [perEvent('client'), perEvent('host'), perEvent('emulator')];
    console.log(
      `  ${name.padEnd(44)} client ${client.toFixed(0).padStart(3)} µs, host ${host.toFixed(0).padStart(3)} µs, ` +
        `emulator ${emu.toFixed(0).padStart(3)} µs, total ${(client + host + emu).toFixed(0).padStart(3)} µs`,
    );
  }
  console.log('');

  // 2. Latency: the whole app (publisher and consumer) at a steady rate.
  const recordFile = path.join(dir, 'latency.records.ndjson');
  const app = await startHostProcess({
    appRoot: REPO_ROOT,
    port: 0,
    settingsFile: settings(LATENCY_HUB),
    recordFile,
  });
  stops.push(() => app.stop());
  const latency = await latencyAtSteadyRate(app.url, recordFile);
  await app.stop();
  console.log(
    `Latency from the 202 to the consumer's invocation, ${format(LATENCY_RATE_PER_S)} events/s for ` +
      `${LATENCY_MS / 1000} s (${EVENTS_PER_REQUEST}-event requests every ${(1000 * EVENTS_PER_REQUEST) / LATENCY_RATE_PER_S} ms):`,
  );
  console.log(
    `  p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms over ${format(latency.count)} events ` +
      `(achieved ${format(latency.rate)} events/s; negative = the consumer started before the 202 reached the client)`,
  );
  console.log('');

  // 3. The consumer alone, on a hub filled beforehand.
  const consumed = await consumerThroughput(
    dir,
    emulator.connectionString,
    azurite.connectionString,
    settings,
  );
  console.log(
    `Consumer: ${format(CONSUMED_EVENTS)} events of ${EVENT_BYTES} B waiting in ${CONSUMER_HUB} (4 partitions), ` +
      `processEvents alone in the host (batches of up to 100, checkpoint after every batch):`,
  );
  console.log(
    `  ${format(consumed.invokedPerSecond)} events/s invoked and logged, ${format(consumed.checkpointedPerSecond)} events/s ` +
      `checkpointed (first invocation to the last event in a checkpoint; ${consumed.invocations} invocations)`,
  );
  console.log(
    `  host CPU ${consumed.hostMicrosPerEvent.toFixed(1)} µs/event (receive, bind, invoke, log, checkpoint); ` +
      `inside processEvents' invocations ${consumed.invocationMicrosPerEvent.toFixed(1)} µs/event ` +
      `(median per invocation; the library's invocation model, the handler and its log lines)`,
  );
}

/** Fills CONSUMER_HUB, then starts a host with processEvents only and times it through every event. */
async function consumerThroughput(
  dir: string,
  eventHubsConnection: string,
  storageConnection: string,
  settings: (hub: string) => string,
) {
  const producer = new EventHubProducerClient(eventHubsConnection, CONSUMER_HUB);
  for (let i = 0; i < CONSUMED_EVENTS / EVENTS_PER_REQUEST; i++)
    await sendBatch(producer, makeEvents(`c${i}`));
  const ends = new Map<string, number>();
  for (const id of await producer.getPartitionIds()) {
    const properties = await producer.getPartitionProperties(id);
    ends.set(id, properties.lastEnqueuedSequenceNumber);
  }
  // As the host names its checkpoints: the namespace the SDK client reports.
  const fullyQualifiedNamespace = producer.fullyQualifiedNamespace;
  await producer.close();

  const recordFile = path.join(dir, 'consumer.records.ndjson');
  const consumer = await startHostProcess({
    appRoot: REPO_ROOT,
    port: 0,
    settingsFile: settings(CONSUMER_HUB),
    recordFile,
    functions: ['processEvents'],
    child: { keepLines: 100 },
  });
  try {
    const cpuBefore = cpu(consumer.child.process.pid!);
    const store = checkpointStore(BlobServiceClient.fromConnectionString(storageConnection));
    const scope = {
      fullyQualifiedNamespace,
      eventHubName: CONSUMER_HUB,
      consumerGroup: CONSUMER_GROUP,
    };
    let checkpointedAt = 0;
    await until(
      async () => {
        const checkpoints = await readCheckpoints(store, scope);
        const done = [...ends].every(([id, end]) => (checkpoints.get(id)?.sequenceNumber ?? -1) >= end);
        if (done) checkpointedAt = Date.now();
        return done;
      },
      120_000,
      () =>
        `consumer: not every event checkpointed (${countConsumed(recordFile)} of ${CONSUMED_EVENTS} invoked)`,
      50,
    );
    const hostSeconds = cpu(consumer.child.process.pid!) - cpuBefore;
    const records = readRecords(recordFile).filter((record) => record.functionName === 'processEvents');
    const events = records.reduce((n, record) => n + (record.inputs[0] as unknown[]).length, 0);
    const firstStart = Math.min(...records.map((record) => Date.parse(record.startedAt)));
    const lastFinish = Math.max(...records.map((record) => Date.parse(record.finishedAt)));
    const perEvent = records.map(
      (record) => (1000 * record.durationMs) / (record.inputs[0] as unknown[]).length,
    );
    return {
      invocations: records.length,
      invokedPerSecond: events / ((lastFinish - firstStart) / 1000),
      checkpointedPerSecond: CONSUMED_EVENTS / ((checkpointedAt - firstStart) / 1000),
      // The host's CPU from its start (claiming partitions included) to the last checkpoint.
      hostMicrosPerEvent: (1e6 * hostSeconds) / events,
      invocationMicrosPerEvent: medianOf(perEvent),
    };
  } finally {
    await consumer.stop();
  }
}

function countConsumed(recordFile: string): number {
  return readRecords(recordFile)
    .filter((record) => record.functionName === 'processEvents')
    .reduce((n, record) => n + (record.inputs[0] as unknown[]).length, 0);
}

/** CLIENTS loops sending request-sized batches until `ms` is over. */
async function throughput(
  send: Sender,
  ms: number,
  pids: { host: number; emulator: number },
): Promise<Round> {
  const deadline = Date.now() + ms;
  const before = {
    client: process.cpuUsage(),
    host: cpu(pids.host),
    emulator: cpu(pids.emulator),
  };
  const started = process.hrtime.bigint();
  let events = 0;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) {
        await send(makeEvents(`t${sequence++}`));
        events += EVENTS_PER_REQUEST;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const client = process.cpuUsage(before.client);
  return {
    eventsPerSecond: events / seconds,
    events,
    cpu: {
      client: (client.user + client.system) / 1e6,
      host: cpu(pids.host) - before.host,
      emulator: cpu(pids.emulator) - before.emulator,
    },
  };
}

async function latencyAtSteadyRate(url: string, recordFile: string) {
  // Warm up every partition's consumer first (claimed partitions, open links, JIT), so the clock starts warm.
  for (let i = 0; i < 8; i++) await postEvents(url, makeEvents(`warmup${i}`));
  const consumed = () =>
    readRecords(recordFile)
      .filter((record) => record.functionName === 'processEvents')
      .reduce((n, record) => n + (record.inputs[0] as unknown[]).length, 0);
  await until(
    () => consumed() >= 8 * EVENTS_PER_REQUEST,
    30_000,
    () => `latency warm-up: ${consumed()} of ${8 * EVENTS_PER_REQUEST} events consumed`,
  );

  const answeredAt = new Map<string, number>();
  const intervalMs = (1000 * EVENTS_PER_REQUEST) / LATENCY_RATE_PER_S;
  const requests = LATENCY_MS / intervalMs;
  const started = Date.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < requests; i++) {
    const wait = started + i * intervalMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const prefix = `lat${i}`;
    pending.push(postEvents(url, makeEvents(prefix)).then(() => void answeredAt.set(prefix, Date.now())));
  }
  await Promise.all(pending);
  const rate = (requests * EVENTS_PER_REQUEST) / ((Date.now() - started) / 1000);

  const startedAtById = new Map<string, number>();
  await until(
    () => {
      for (const record of readRecords(recordFile)) {
        if (record.functionName !== 'processEvents') continue;
        for (const input of record.inputs[0] as unknown[]) {
          const id = eventId(input);
          if (id?.startsWith('lat') && !startedAtById.has(id)) {
            startedAtById.set(id, Date.parse(record.startedAt));
          }
        }
      }
      return startedAtById.size >= requests * EVENTS_PER_REQUEST;
    },
    60_000,
    () => `latency: ${startedAtById.size} of ${requests * EVENTS_PER_REQUEST} events consumed`,
  );
  const latencies = [...startedAtById]
    .map(([id, at]) => at - answeredAt.get(id.split('-')[0])!)
    .sort((a, b) => a - b);
  const percentile = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return {
    p50: percentile(50),
    p99: percentile(99),
    max: latencies[latencies.length - 1],
    count: latencies.length,
    rate,
  };
}

/**
 * The `id` of a consumed event as the recorder wrote it: processEvents takes bodies as bytes
 * (dataType binary), recorded as `{ "$bytes": "<base64>" }`; an object where a trigger binds JSON.
 */
function eventId(input: unknown): string | undefined {
  const bytes = (input as { $bytes?: unknown } | null)?.$bytes;
  const event = typeof bytes === 'string' ? JSON.parse(Buffer.from(bytes, 'base64').toString('utf8')) : input;
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** EVENTS_PER_REQUEST JSON events of EVENT_BYTES each, as the body of one request would carry them. */
function makeEvents(prefix: string): Buffer[] {
  return Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => {
    const head = `{"id":"${prefix}-${i}","pad":"`;
    const event = Buffer.alloc(EVENT_BYTES, 'x');
    event.write(head);
    event.write('"}', EVENT_BYTES - 2);
    return event;
  });
}

const COMMA = Buffer.from(',');
/** A lean keep-alive client, as a service calling the API would use (fetch costs this process far more). */
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

function postEvents(url: string, events: Buffer[]): Promise<void> {
  const parts: Buffer[] = [Buffer.from('[')];
  events.forEach((event, i) => parts.push(...(i ? [COMMA, event] : [event])));
  parts.push(Buffer.from(']'));
  const body = Buffer.concat(parts);
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/api/events`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          if (response.statusCode === 202) resolve();
          else
            reject(
              new Error(
                `POST /api/events answered ${response.statusCode}: ${Buffer.concat(chunks).toString()}`,
              ),
            );
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function sendBatch(client: EventHubProducerClient, events: Buffer[]): Promise<void> {
  const batch = await client.createBatch();
  for (const body of events) {
    if (!batch.tryAdd({ body, contentType: 'application/json' })) throw new Error('batch full');
  }
  await client.sendBatch(batch);
}

/** Waits for `condition`; past the timeout, stops with `describe()` naming the phase and how far it got. */
async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
  pollMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`benchmark: ${describe()} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/** CPU seconds of a process; NaN where /proc is missing, so the figures print as n/a. */
function cpu(pid: number): number {
  return cpuSeconds(pid) ?? Number.NaN;
}
