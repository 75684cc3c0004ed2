// npm run bench:handler - the app's own cost on the publish path, in one process (about 1 minute):
// the real `publishEvents` handler (the library's HttpRequest and InvocationContext, the app's shared
// EventHubProducerClient) against a bare EventHubProducerClient loop sending the same batches, both to
// the Event Hubs emulator started in memory in this process. No HTTP server and no host: what differs
// between the two is the handler (body read, parsing, validation, batching, response) and the
// library's request object. ROUNDS interleaved rounds; medians and the spread are printed, nothing is
// asserted. `node --cpu-prof --import tsx bench/handler.ts` profiles it.
import { EventHubProducerClient } from '@azure/event-hubs';
import { HttpRequest, InvocationContext, type HttpHandler, type HttpResponseInit } from '@azure/functions';
import { cpus } from 'node:os';
import { startEmulator } from '@local/eventhubs-emulator';
import { SETTING_NAMES } from '../src/lib/settings';
import { format, medianOf } from './lib/figures';

const HUB = 'bench-handler';
const EVENTS_PER_REQUEST = 100;
const EVENT_BYTES = 1024;
const CLIENTS = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 4_000);
/** Distinct request bodies cycled through, built before the clock starts (as a client would hold them). */
const DISTINCT_REQUESTS = 64;

type Sender = (request: PreparedRequest) => Promise<void>;

interface PreparedRequest {
  events: Buffer[];
  body: Buffer;
}

interface Round {
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
}

async function main(): Promise<void> {
  const emulator = await startEmulator({
    amqpPort: 0,
    healthPort: 0,
    hubs: [{ name: HUB, partitionCount: 4 }],
    retentionBytes: 16 * 1024 * 1024,
    logLevel: 'error',
  });
  Object.assign(process.env, {
    [SETTING_NAMES.eventHubConnection]: emulator.connectionString,
    [SETTING_NAMES.eventHubName]: HUB,
  });
  // Loaded after the settings are in place; the library registers nothing without a host (test mode).
  const { publishEvents } = await import('../src/functions/publishEvents');
  const { closeSharedProducer } = await import('../src/lib/publish/eventHubClient');
  const shared = new EventHubProducerClient(emulator.connectionString, HUB);
  try {
    const requests = Array.from({ length: DISTINCT_REQUESTS }, (_, i) => prepare(`r${i}`));
    const modes: [string, Sender][] = [
      ['publishEvents handler (app + library request)', (request) => callHandler(publishEvents, request)],
      ['EventHubProducerClient, one shared client', (request) => sendBatch(shared, request.events)],
    ];
    console.log(
      `Handler benchmark: ${cpus().length} CPUs, Node ${process.version}; emulator in memory in this process; ` +
        `${EVENTS_PER_REQUEST} events of ${EVENT_BYTES} B per request, ${CLIENTS} concurrent callers.\n`,
    );
    for (const [, send] of modes) await throughput(send, requests, 1_000); // warm-up: connections, JIT
    const rounds = new Map<string, Round[]>(modes.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which mode goes first, so that neither always inherits the other's garbage.
      const ordered = round % 2 === 0 ? modes : [...modes].reverse();
      for (const [name, send] of ordered) rounds.get(name)!.push(await throughput(send, requests, ROUND_MS));
    }
    console.log(`Median of ${ROUNDS} rounds of ${ROUND_MS / 1000} s (min-max in brackets):`);
    for (const [name] of modes) {
      const all = rounds.get(name)!;
      const rates = all.map((r) => r.eventsPerSecond);
      const cpu = all.map((r) => r.cpuMicrosPerEvent);
      console.log(
        `  ${name.padEnd(48)} ${format(medianOf(rates)).padStart(7)} events/s [${format(Math.min(...rates))}-${format(Math.max(...rates))}]` +
          `   CPU ${medianOf(cpu).toFixed(1)} µs/event [${Math.min(...cpu).toFixed(1)}-${Math.max(...cpu).toFixed(1)}]`,
      );
    }
    const ratios = rounds
      .get(modes[0][0])!
      .map((r, i) => r.eventsPerSecond / rounds.get(modes[1][0])![i].eventsPerSecond);
    const [handler, bare] = modes.map(([name]) => medianOf(rounds.get(name)!.map((r) => r.eventsPerSecond)));
    console.log(
      `  ratio app handler / shared producer              ${(handler / bare).toFixed(2)}` +
        `   (per round: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
    );
    const [handlerCpu, bareCpu] = modes.map(([name]) =>
      medianOf(rounds.get(name)!.map((r) => r.cpuMicrosPerEvent)),
    );
    console.log(
      `  CPU the handler adds per event                   ${(handlerCpu - bareCpu).toFixed(1)} µs ` +
        `(this process: app, library, SDK and emulator)`,
    );
  } finally {
    await shared.close();
    await closeSharedProducer();
    await emulator.stop();
  }
}

/** CLIENTS loops, each sending the next prepared request until `ms` is over. */
async function throughput(send: Sender, requests: PreparedRequest[], ms: number): Promise<Round> {
  const deadline = Date.now() + ms;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let events = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) {
        await send(requests[next++ % requests.length]);
        events += EVENTS_PER_REQUEST;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { eventsPerSecond: events / seconds, cpuMicrosPerEvent: (cpu.user + cpu.system) / events };
}

/** As the worker hands a buffered request to the library: raw body bytes with their Content-Length. */
async function callHandler(handler: HttpHandler, prepared: PreparedRequest): Promise<void> {
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1:7071/api/events',
    headers: { 'content-type': 'application/json', 'content-length': String(prepared.body.length) },
    body: { bytes: prepared.body },
  });
  const context = new InvocationContext({ invocationId: 'bench', functionName: 'publishEvents' });
  const response = (await handler(request, context)) as HttpResponseInit;
  if (response.status !== 202) {
    throw new Error(`publishEvents answered ${response.status}: ${JSON.stringify(response.jsonBody)}`);
  }
}

async function sendBatch(client: EventHubProducerClient, events: Buffer[]): Promise<void> {
  const batch = await client.createBatch();
  for (const body of events) {
    if (!batch.tryAdd({ body, contentType: 'application/json' })) throw new Error('batch full');
  }
  await client.sendBatch(batch);
}

/** EVENTS_PER_REQUEST JSON events of EVENT_BYTES each, and the JSON array a request would carry them in. */
function prepare(prefix: string): PreparedRequest {
  const events = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => {
    const event = Buffer.alloc(EVENT_BYTES, 'x');
    event.write(`{"id":"${prefix}-${i}","pad":"`);
    event.write('"}', EVENT_BYTES - 2);
    return event;
  });
  const parts: Buffer[] = [Buffer.from('[')];
  events.forEach((event, i) => parts.push(...(i ? [Buffer.from(','), event] : [event])));
  parts.push(Buffer.from(']'));
  return { events, body: Buffer.concat(parts) };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
