// Property-based test of the running emulator (fast-check): sessions a client could send (plain
// and SASL; token, producer and consumer links, standard and batch messages, multi-frame
// deliveries) are mutated at the byte level, chunked at random, and sent on fresh connections.
// Whatever the bytes, each connection ends (the emulator never stalls on one), and throughout the
// emulator keeps answering new connections; at the end it still serves a normal SDK client, has
// logged no error (client faults are warnings), and its memory is within a generous bound.
import fc from 'fast-check';
import { EventHubProducerClient } from '@azure/event-hubs';
import { create_container, type EventContext, message as rheaMessage } from 'rhea';
import frames from 'rhea/lib/frames.js';
import terminus from 'rhea/lib/terminus.js';
import { batch, bin, list, map, Section, section, str, sym } from './amqpBytes';
import { ObservedEmulator } from './observedEmulator';
import { sasToken } from './rawClient';
import { waitFor } from '../../support/waitFor';
import { checkProperty, FUZZ_SCALE, type Mutation, mutate, mutations, position } from './fuzzing';
import {
  AMQP_HEADER,
  frame,
  performativeBytes,
  putTokenMessage,
  RawAmqp,
  SASL_HEADER,
  transferFrame,
} from './rawAmqp';

const RUNS = 150;
const MEMORY_BOUND_MB = 400;

let emulator: ObservedEmulator;

beforeAll(async () => {
  emulator = await ObservedEmulator.start();
});

afterAll(async () => {
  await emulator?.stop();
});

const encode = (performative: unknown, payload?: Buffer) => frame(performativeBytes(performative, payload));

function attach(name: string, handle: number, role: 'sender' | 'receiver', address: string, filter?: string) {
  const remote = terminus[role === 'sender' ? 'target' : 'source']({
    address,
    ...(filter && { filter: { 'apache.org:selector-filter:string': filter } }),
  });
  const local = terminus[role === 'sender' ? 'source' : 'target']({ address: name });
  return encode(
    frames.attach({
      name,
      handle,
      role: role === 'receiver',
      source: (role === 'sender' ? local : remote).described(),
      target: (role === 'sender' ? remote : local).described(),
      initial_delivery_count: 0,
    }),
  );
}

/** The frames of a session a well-behaved client could send, one Buffer per frame. */
function session(endpoint: string, partitionId: string, sasl: boolean): Buffer[] {
  const audience = `${endpoint}/events`;
  const putToken = putTokenMessage(audience, 'cbs-in');
  const event = Buffer.concat([
    section(Section.messageAnnotations, map([sym('x-opt-partition-key'), str('k')])),
    section(Section.properties, list([str('id-1')])),
    section(Section.applicationProperties, map([str('n'), str('v')])),
    section(Section.data, bin(Buffer.from('{"fuzz":true}'))),
  ]);
  const big = batch(
    Array.from({ length: 30 }, () => event),
    'k',
  );
  return [
    ...(sasl
      ? [SASL_HEADER, frame(performativeBytes(frames.sasl_init({ mechanism: 'ANONYMOUS' })), { type: 1 })]
      : []),
    AMQP_HEADER,
    encode(frames.open({ container_id: 'fuzz', hostname: '127.0.0.1', max_frame_size: 65536 })),
    encode(frames.begin({ next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 2048 })),
    attach('cbs-out', 0, 'sender', '$cbs'),
    attach('cbs-in', 1, 'receiver', '$cbs'),
    encode(
      frames.flow({
        incoming_window: 2048,
        next_outgoing_id: 0,
        outgoing_window: 2048,
        handle: 1,
        link_credit: 5,
      }),
    ),
    transferFrame(0, putToken, { deliveryId: 0 }),
    attach('producer', 2, 'sender', `events/Partitions/${partitionId}`),
    transferFrame(2, rheaMessage.encode({ body: 'standard' }), { deliveryId: 1 }),
    transferFrame(2, batch([event, event], 'k'), { deliveryId: 2, format: 0x80013700 }),
    transferFrame(2, big.subarray(0, 500), { deliveryId: 3, format: 0x80013700, more: true }),
    transferFrame(2, big.subarray(500), {}),
    attach(
      'consumer',
      3,
      'receiver',
      `events/ConsumerGroups/$default/Partitions/${partitionId}`,
      "amqp.annotation.x-opt-offset > '-1'",
    ),
    encode(
      frames.flow({
        incoming_window: 2048,
        next_outgoing_id: 4,
        outgoing_window: 2048,
        handle: 3,
        link_credit: 3,
      }),
    ),
    encode(frames.disposition({ role: false, first: 1, last: 2, settled: true })),
    frame(Buffer.alloc(0)), // heartbeat
    encode(frames.detach({ handle: 2, closed: true })),
    encode(frames.end({})),
  ];
}

const CLOSE = encode(frames.close({}));

/** Reads a partition from the start with a bare rhea receiver; resolves with the count once all arrived. */
async function readBack(partitionId: string): Promise<number> {
  const producer = new EventHubProducerClient(emulator.connectionString, 'events');
  const properties = await producer.getPartitionProperties(partitionId);
  await producer.close();
  const expected = properties.isEmpty
    ? 0
    : properties.lastEnqueuedSequenceNumber - properties.beginningSequenceNumber + 1;
  const connection = create_container().connect({
    host: '127.0.0.1',
    port: emulator.amqpPort,
    reconnect: false,
  });
  const problems: string[] = [];
  connection.on('error', (error: Error) => problems.push(error.message));
  connection.on('disconnected', (context: EventContext) =>
    problems.push(`disconnected ${context.error ?? ''}`),
  );
  try {
    const audience = `${emulator.endpoint}/events`;
    await new Promise((resolve) => {
      connection.open_receiver({ source: { address: '$cbs' }, name: 'cbs-reply' }).once('message', resolve);
      const sender = connection.open_sender({ target: { address: '$cbs' } });
      sender.once('sendable', () =>
        sender.send({
          message_id: 'put',
          reply_to: 'cbs-reply',
          body: sasToken(audience),
          application_properties: {
            operation: 'put-token',
            name: audience,
            type: 'servicebus.windows.net:sastoken',
          },
        }),
      );
    });
    let received = 0;
    let lastSequenceNumber = -1;
    const receiver = connection.open_receiver({
      source: { address: `events/ConsumerGroups/$default/Partitions/${partitionId}` },
      credit_window: 500,
    });
    receiver.on('message', (context: EventContext) => {
      received++;
      lastSequenceNumber = Number(context.message?.message_annotations?.['x-opt-sequence-number']);
    });
    await waitFor(() => received >= expected || problems.length > 0, {
      what: `partition ${partitionId} to be read back (${expected} events)`,
      timeoutMs: 60_000 * FUZZ_SCALE,
    });
    expect({ partitionId, received, lastSequenceNumber, problems }).toEqual({
      partitionId,
      received: expected,
      lastSequenceNumber: properties.lastEnqueuedSequenceNumber,
      problems: [],
    });
    return received;
  } finally {
    connection.close();
  }
}

/** A fuzz case: a session's frames, some dropped or repeated, then byte mutations and random chunking. */
const fuzzCase = fc.record({
  sasl: fc.boolean(),
  partition: fc.constantFrom('0', '1', '2', '3'),
  frameEdits: fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('drop', 'repeat', 'swap') }), {
    maxLength: 2,
  }),
  byteEdits: fc.oneof(mutations, fc.constant([] as Mutation[])),
  randomFrame: fc.option(fc.uint8Array({ maxLength: 200 }), { freq: 4 }),
  cuts: fc.array(position, { maxLength: 6 }),
});

describe('the running emulator under mutated sessions, property-based', () => {
  test(
    'every connection ends, the emulator keeps answering, logs no error and stays within memory',
    async () => {
      const outcomes = new Map<string, number>();
      let cases = 0;
      await checkProperty(
        'emulator sessions',
        fc.asyncProperty(fuzzCase, async (c) => {
          const parts = session(emulator.endpoint, c.partition, c.sasl);
          for (const edit of c.frameEdits) {
            const at = edit.at % parts.length;
            if (edit.op === 'drop') parts.splice(at, 1);
            else if (edit.op === 'repeat') parts.splice(at, 0, parts[at]);
            else [parts[at], parts[(at + 1) % parts.length]] = [parts[(at + 1) % parts.length], parts[at]];
          }
          if (c.randomFrame) parts.splice(parts.length - 1, 0, frame(Buffer.from(c.randomFrame)));
          const bytes = mutate(Buffer.concat(parts), c.byteEdits);
          const raw = await RawAmqp.connect(emulator.amqpPort, { open: false });
          try {
            let start = 0;
            for (const cut of [
              ...c.cuts.map((x) => Math.floor(x * bytes.length)).sort((a, b) => a - b),
              bytes.length,
            ]) {
              if (cut > start) raw.send(bytes.subarray(start, cut));
              start = Math.max(start, cut);
            }
            raw.send(CLOSE);
            raw.end();
            // The emulator must end the connection: a stall here fails the case (with its seed).
            await raw.waitForSocketClose();
            const close = raw.received.find((f) => f.name === 'close');
            const condition = (close?.performative?.error as { condition?: string } | undefined)?.condition;
            const outcome =
              condition ??
              (close ? 'closed cleanly' : raw.received.length ? 'socket closed' : 'protocol header refused');
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          } finally {
            raw.close();
          }
          if (++cases % 25 === 0) {
            const probe = await RawAmqp.connect(emulator.amqpPort); // open and begin answered
            probe.close();
            expect(emulator.alive).toBe(true);
          }
        }),
        RUNS,
      );
      console.log(`fuzz emulator sessions, outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      // Whatever was stored can be read back: rhea (the JS SDK's decoder) decodes every event.
      let stored = 0;
      for (const partition of ['0', '1', '2', '3']) stored += await readBack(partition);
      console.log(`fuzz emulator sessions: ${stored} events stored, all read back`);
      await emulator.stillServes();
      expect(emulator.errorLines()).toEqual([]);
      const memory = emulator.memoryMb();
      console.log(
        `fuzz emulator sessions, emulator memory: RSS ${memory.rss.toFixed(0)} MB, peak ${memory.peak.toFixed(0)} MB`,
      );
      expect(memory.peak).toBeLessThan(MEMORY_BOUND_MB);
    },
    120_000 * FUZZ_SCALE,
  );
});
