// Hostile bytes on the AMQP port, where no authentication is needed: each case found by issue 11,
// reproduced on a bare socket against the emulator as its own process, with the answer it must
// give. Judged by outcome: the connection is closed (or the delivery refused) with the AMQP error
// that says why, the client fault is one warning line without a stack, nothing is stored, and the
// emulator stays alive, keeps serving a normal SDK client, and its memory stays bounded.
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from '@azure/event-hubs';
import net from 'node:net';
import { message as rheaMessage } from 'rhea';
import frames from 'rhea/lib/frames.js';
import {
  array32,
  batch,
  bin,
  describedChain,
  list,
  long,
  map,
  Section,
  section,
  str,
  sym,
  timestamp,
} from './amqpBytes';
import { ObservedEmulator } from './observedEmulator';
import { startEmulatorInProcess } from './helpers';
import { tempDir } from '../../support/tempDir';
import { AMQP_HEADER, frame, performativeBytes, RawAmqp, SASL_HEADER, transferFrame } from './rawAmqp';

const BATCH_FORMAT = 0x80013700;
const MB = 1024 * 1024;

let emulator: ObservedEmulator;
let producer: EventHubProducerClient;

beforeAll(async () => {
  emulator = await ObservedEmulator.start();
  producer = new EventHubProducerClient(emulator.connectionString, 'events');
});

afterAll(async () => {
  await producer?.close();
  await emulator?.stop();
});

async function storedCount(partitionId: string): Promise<number> {
  const properties = await producer.getPartitionProperties(partitionId);
  return properties.isEmpty
    ? 0
    : properties.lastEnqueuedSequenceNumber - properties.beginningSequenceNumber + 1;
}

/** The warning for a client fault names the condition and carries no stack trace. */
function expectWarning(text: string) {
  const lines = emulator.warnings(text);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).not.toMatch(/\n\s+at | {4}at /);
}

async function producerOn(partitionId: string): Promise<{ raw: RawAmqp; handle: number }> {
  const raw = await RawAmqp.connect(emulator.amqpPort);
  const handle = await raw.producer(emulator.endpoint, `events/Partitions/${partitionId}`);
  return { raw, handle };
}

const event = (text: string) => Buffer.concat([section(Section.data, bin(Buffer.from(text)))]);

describe('hostile frames on the AMQP port', () => {
  test('the emulator announces the max-frame-size it enforces (64 KB)', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    const open = raw.received.find((f) => f.name === 'open')!;
    expect(open.performative!.max_frame_size).toBe(65536);
    raw.close();
  });

  test.each([
    ['count 0xFFFFFFFF (the 26-byte frame)', 0xffffffff],
    ['a count of 20 million', 20_000_000],
  ])('an array32 of null with %s is a decode error on that connection only', async (_, count) => {
    const socket = await RawAmqp.connect(emulator.amqpPort, { open: false });
    const bytes = Buffer.concat([AMQP_HEADER, frame(array32(count, 0x40))]);
    if (count === 0xffffffff) expect(bytes.length).toBe(26);
    socket.send(bytes);
    const error = await socket.closeError();
    expect(error?.condition).toBe('amqp:decode-error');
    expect(error?.description).toBe(
      `the count ${count} of the value at 0 is more than the 9 bytes after it can hold`,
    );
    expectWarning(`amqp:decode-error: the count ${count} of the value at 0`);
    await emulator.stillServes();
  });

  test('a frame declaring 4 GB is refused from its header, before any of its body arrives', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    const header = Buffer.from([0xff, 0xff, 0xff, 0xf0, 0x02, 0x00, 0x00, 0x00]);
    raw.send(header); // and nothing more: a server that waits for the body never answers
    const error = await raw.closeError();
    expect(error).toEqual({
      condition: 'amqp:connection:framing-error',
      description: 'a frame of 4294967280 bytes; frames are 8 to 65536 bytes (max-frame-size 65536)',
    });
    expectWarning('amqp:connection:framing-error: a frame of 4294967280 bytes');
  });

  test('a frame one byte over max-frame-size is a framing error', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.send(frame(Buffer.alloc(65537 - 8)));
    expect((await raw.closeError())?.condition).toBe('amqp:connection:framing-error');
  });

  test('SASL frames are held to 512 bytes', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort, { open: false });
    raw.send(Buffer.concat([SASL_HEADER, frame(Buffer.alloc(513 - 8), { type: 1 })]));
    await raw.waitForSocketClose();
    expectWarning('a frame of 513 bytes; SASL frames are 8 to 512 bytes');
  });

  test('a protocol header that is not AMQP 1.0 gets ours back and the socket closed', async () => {
    const socket = net.connect(emulator.amqpPort, '127.0.0.1');
    const reply: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => reply.push(chunk));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(reply)).toEqual(AMQP_HEADER);
    expectWarning('the protocol header 474554202f204854 is not AMQP 1.0.0');
  });

  test('a 100 MB message in many frames is refused as soon as it passes 1 MB; its rest is dropped unbuffered', async () => {
    const { raw, handle } = await producerOn('0');
    const before = emulator.memoryMb();
    const piece = Buffer.alloc(60_000, 0x61);
    const deliveryId = raw.takeDeliveryId();
    // The start of a batch whose data section declares 100 MB, then about 1.1 MB of it.
    const head = Buffer.from([0x00, 0x53, 0x75, 0xb0, 0x06, 0x40, 0x00, 0x00]);
    raw.send(transferFrame(handle, head, { deliveryId, format: BATCH_FORMAT, more: true }));
    for (let sent = 0; sent < 1.1 * MB; sent += piece.length)
      await raw.sendPaced(transferFrame(handle, piece, { more: true }));
    // The delivery is not finished, yet it is answered.
    expect(await raw.disposition(deliveryId)).toEqual({
      outcome: 'rejected',
      error: {
        condition: 'amqp:link:message-size-exceeded',
        description: expect.stringMatching(
          /^The received message \(delivery-id:\d+, size:\d+ bytes\) exceeds the limit \(1048576 bytes\)/,
        ),
      },
    });
    for (let sent = 1.1 * MB; sent < 100 * MB; sent += piece.length) {
      await raw.sendPaced(transferFrame(handle, piece, { more: true }));
    }
    raw.send(transferFrame(handle, piece, { more: false }));
    // The link carries on: the next delivery is stored, the refused one is not.
    const next = raw.transfer(handle, batch([event('after the refusal')]), { format: BATCH_FORMAT });
    expect((await raw.disposition(next)).outcome).toBe('accepted');
    expect(await storedCount('0')).toBe(1);
    const after = emulator.memoryMb();
    expect(after.peak - before.peak).toBeLessThan(64);
    raw.close();
  });

  test('an aborted delivery is discarded: nothing of a half-sent batch is stored', async () => {
    const { raw, handle } = await producerOn('1');
    const events = Array.from({ length: 400 }, (_, i) => event(`event ${i} ${'x'.repeat(200)}`));
    const aborted = raw.transfer(handle, batch(events), {
      format: BATCH_FORMAT,
      frameSize: 10_000,
      abortAfter: 4,
    });
    const next = raw.transfer(handle, batch([event('whole')]), { format: BATCH_FORMAT });
    expect((await raw.disposition(next)).outcome).toBe('accepted');
    expect(raw.received.some((f) => f.name === 'disposition' && f.performative!.first === aborted)).toBe(
      false,
    );
    expect(await storedCount('1')).toBe(1);
    raw.close();
  });

  test('annotations after the properties cannot pass for the service’s; duplicate sections are refused', async () => {
    const { raw, handle } = await producerOn('2');
    const properties = section(Section.properties, list([str('forged')]));
    const forged = section(
      Section.messageAnnotations,
      map([
        sym('x-opt-sequence-number'),
        long(999),
        sym('x-opt-offset'),
        str('999'),
        sym('x-opt-enqueued-time'),
        timestamp(0),
      ]),
    );
    const body = section(Section.data, bin(Buffer.from('forged')));
    for (const inner of [
      Buffer.concat([properties, forged, body]),
      Buffer.concat([properties, properties, body]),
    ]) {
      const id = raw.transfer(handle, batch([inner]), { format: BATCH_FORMAT });
      const outcome = await raw.disposition(id);
      expect(outcome.outcome).toBe('rejected');
      expect(outcome.error?.condition).toBe('amqp:decode-error');
    }
    // In their proper place they are replaced: consumers see the emulator's numbers.
    const placed = raw.transfer(handle, batch([Buffer.concat([forged, properties, body])]), {
      format: BATCH_FORMAT,
    });
    expect((await raw.disposition(placed)).outcome).toBe('accepted');
    raw.close();
    const consumer = new EventHubConsumerClient('$default', emulator.connectionString, 'events');
    try {
      const [received] = await new Promise<
        { sequenceNumber: number; offset: string; enqueuedTimeUtc: Date }[]
      >((resolve) => {
        const subscription = consumer.subscribe(
          '2',
          {
            processEvents: async (events) => {
              if (events.length) {
                await subscription.close();
                resolve(events);
              }
            },
            processError: async () => undefined,
          },
          { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
        );
      });
      expect(received.sequenceNumber).toBe(0);
      expect(received.offset).not.toBe('999');
      expect(received.enqueuedTimeUtc.getTime()).toBeGreaterThan(Date.now() - 600_000);
    } finally {
      await consumer.close();
    }
  });

  test('an event whose partition key differs from its batch’s is refused', async () => {
    const { raw, handle } = await producerOn('2');
    const keyed = Buffer.concat([
      section(Section.messageAnnotations, map([sym('x-opt-partition-key'), str('tenant-b')])),
      event('mislabelled'),
    ]);
    const id = raw.transfer(handle, batch([keyed], 'tenant-a'), { format: BATCH_FORMAT });
    expect((await raw.disposition(id)).error?.description).toMatch(/partition key 'tenant-b' differs/);
    raw.close();
  });

  test('a 200,000-deep described chain in an event rejects the delivery; the link and connection carry on', async () => {
    const { raw, handle } = await producerOn('3');
    const deep = section(Section.amqpValue, describedChain(200_000));
    const inBatch = raw.transfer(handle, batch([deep]), { format: BATCH_FORMAT });
    const standard = raw.transfer(handle, deep, { format: 0 });
    for (const id of [inBatch, standard]) {
      const outcome = await raw.disposition(id);
      expect(outcome.error?.condition).toBe('amqp:decode-error');
    }
    const next = raw.transfer(handle, rheaMessage.encode({ body: 'fine' }), { format: 0 });
    expect((await raw.disposition(next)).outcome).toBe('accepted');
    raw.close();
  });

  test('a 60,000-deep described chain as a frame body is a decode error, not a stack overflow', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.send(frame(describedChain(60_000))); // deeper would not fit in a frame
    expect((await raw.closeError())?.condition).toBe('amqp:decode-error');
  });

  test('an unknown performative is invalid-field, logged as the client’s fault', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.send(frame(section(0x99, list([]))));
    expect(await raw.closeError()).toEqual({
      condition: 'amqp:invalid-field',
      description: 'a AMQP frame holds no performative a client sends (descriptor 0x99)',
    });
    expectWarning('amqp:invalid-field');
  });

  test('what rhea itself refuses (a transfer on a link never attached) is the client’s fault, not an internal error', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.send(transferFrame(42, Buffer.from('x'), { deliveryId: 0 }));
    const error = await raw.closeError();
    expect(error?.condition).toBe('amqp:illegal-state');
    expect(error?.description).toMatch(/Invalid handle 42/);
    expectWarning('Invalid handle 42');
  });

  test('a client that pipelines SASL and AMQP frames is answered (rhea alone waits for a 1 GB frame)', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort, { open: false });
    raw.send(
      Buffer.concat([
        SASL_HEADER,
        frame(performativeBytes(frames.sasl_init({ mechanism: 'ANONYMOUS' })), { type: 1 }),
        AMQP_HEADER,
        frame(performativeBytes(frames.open({ container_id: 'pipelined', hostname: '127.0.0.1' }))),
        frame(
          performativeBytes(frames.begin({ next_outgoing_id: 0, incoming_window: 10, outgoing_window: 10 })),
        ),
      ]),
    );
    await raw.waitForFrame((f) => f.name === 'begin', 'the begin reply');
    raw.close();
  });

  test('an AMQP header in place of sasl-init is refused, not waited on', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort, { open: false });
    raw.send(Buffer.concat([SASL_HEADER, AMQP_HEADER]));
    await raw.waitForSocketClose();
    expectWarning('the AMQP protocol header came before sasl-init');
  });

  test('a disposition over 4 billion deliveries is refused at once, not looped over', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.sendPerformative(frames.disposition({ role: false, first: 0, last: 0xfffffffe, settled: true }));
    expect(await raw.closeError()).toEqual({
      condition: 'amqp:invalid-field',
      description: 'a disposition of deliveries 0 to 4294967294',
    });
    await emulator.stillServes();
  });

  test('settling a delivery the emulator has not sent is refused (rhea would stop sending on the session)', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.sendPerformative(frames.disposition({ role: true, first: 0, last: 5, settled: true }));
    expect(await raw.closeError()).toEqual({
      condition: 'amqp:illegal-state',
      description: 'a disposition for delivery 5, which the emulator has not sent (it has sent 0)',
    });
  });

  test('after all of the above the emulator serves SDK clients and logged no error', async () => {
    await emulator.stillServes('0');
    expect(emulator.errorLines()).toEqual([]);
    expect(emulator.alive).toBe(true);
  });
});

describe('link credit', () => {
  test('a delivery without link credit detaches the link', async () => {
    // With --data-dir a send is settled (and its credit renewed) only after fsync, so a client
    // that ignores credit runs out of it: 101 transfers in one write against a credit of 100.
    const dir = tempDir('credit');
    const persistent = await startEmulatorInProcess({ dataDir: dir.path });
    try {
      const raw = await RawAmqp.connect(persistent.amqpPort);
      const handle = await raw.producer(`sb://127.0.0.1:${persistent.amqpPort}`, 'events/Partitions/0');
      const transfers: Buffer[] = [];
      for (let i = 0; i <= 100; i++) {
        transfers.push(
          transferFrame(handle, rheaMessage.encode({ body: `e${i}` }), { deliveryId: raw.takeDeliveryId() }),
        );
      }
      raw.send(Buffer.concat(transfers));
      const detach = await raw.waitForFrame((f) => f.name === 'detach', 'the detach');
      expect(detach.performative!.error).toMatchObject({ condition: 'amqp:link:transfer-limit-exceeded' });
      expect(persistent.logs.some((line) => /WARN .*transfer-limit-exceeded/.test(line))).toBe(true);
      raw.close();
    } finally {
      await persistent.stop();
      dir.remove();
    }
  });
});
