// What Python's azure-eventhub (pyamqp) puts on the wire and expects back, where it differs from
// rhea, reproduced on a bare socket: the service accepts each of these, so the emulator must too
// (docs/fidelity.md, "Python azure-eventhub"). The SDK itself runs in conformance.test.ts and
// pythonQuickstart.test.ts; these cases pin the bytes found there.
import frames from 'rhea/lib/frames.js';
import { bin, described, map, section, Section, str } from './amqpBytes';
import { startEmulatorInProcess, type InProcessEmulator } from './helpers';
import { RawAmqp, type ReceivedFrame } from './rawAmqp';

let emulator: InProcessEmulator;
const endpoint = () => `sb://127.0.0.1:${emulator.amqpPort}`;

beforeAll(async () => {
  emulator = await startEmulatorInProcess();
});

afterAll(async () => {
  await emulator?.stop();
});

/** pyamqp encodes a tuple as a described value: AccessToken(token, expires_on) becomes this. */
function describedToken(token: string, expiresOn: number): Buffer {
  const tokenBytes = Buffer.from(token);
  const expiry = Buffer.alloc(5);
  expiry[0] = 0x71; // int
  expiry.writeInt32BE(expiresOn, 1);
  return Buffer.concat([Buffer.from([0x00, 0xa0, tokenBytes.length]), tokenBytes, expiry]);
}

/** The number of fields of the first error (descriptor 0x1d) in a frame, as encoded. */
function errorFieldCount(frame: ReceivedFrame): number {
  const at = frame.bytes.indexOf(Buffer.from([0x00, 0x53, 0x1d]));
  if (at < 0) throw new Error(`no error in the ${frame.name} frame`);
  const constructor = frame.bytes[at + 3];
  if (constructor === 0x45) return 0;
  if (constructor === 0xc0) return frame.bytes[at + 5];
  return frame.bytes.readUInt32BE(at + 8);
}

describe('what pyamqp sends', () => {
  test('a described value whose descriptor is binary (its security_token) is accepted', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    const handle = await raw.producer(endpoint(), 'events/Partitions/0');
    const token = 'SharedAccessSignature sr=x&sig=y&se=1796185373&skn=RootManageSharedAccessKey';
    const message = Buffer.concat([
      section(
        Section.applicationProperties,
        map([str('security_token'), describedToken(token, 1796185373), str('name'), str('events')]),
      ),
      section(Section.data, bin(Buffer.from('pyamqp'))),
    ]);
    const outcome = await raw.disposition(raw.transfer(handle, message));
    expect(outcome).toEqual({ outcome: 'accepted', error: undefined });
    raw.close();
  });

  test('end, then detach on the ended channel: the detach is ignored, the connection carries on', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    const link = await raw.attach('$cbs', 'receiver', 'cbs-reply');
    raw.sendPerformative(frames.end({}));
    await raw.waitForFrame((f) => f.name === 'end', 'the end reply');
    raw.sendPerformative(frames.detach({ handle: link.handle, closed: true }));
    raw.sendPerformative(frames.begin({ next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 2048 }));
    await raw.waitForFrame((f) => f.name === 'begin' && raw.received.indexOf(f) > 1, 'a second begin reply');
    expect(raw.received.some((f) => f.name === 'close')).toBe(false);
    expect(emulator.logs.join('\n')).toMatch(/detach on channel 0, which has no session: ignored/);
    raw.close();
  });

  test('a session flow (no handle) on an ended channel is ignored, as rhea sends one after its end', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.sendPerformative(frames.end({}));
    await raw.waitForFrame((f) => f.name === 'end', 'the end reply');
    raw.sendPerformative(
      frames.flow({ next_incoming_id: 0, incoming_window: 2048, next_outgoing_id: 0, outgoing_window: 2048 }),
    );
    raw.sendPerformative(frames.begin({ next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 2048 }));
    await raw.waitForFrame((f) => f.name === 'begin' && raw.received.indexOf(f) > 1, 'a second begin reply');
    expect(raw.received.some((f) => f.name === 'close')).toBe(false);
    expect(emulator.logs.join('\n')).toMatch(/session flow on channel 0, which has no session: ignored/);
    raw.close();
  });

  test('a link flow on a channel with no session still closes the connection', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.sendPerformative(frames.end({}));
    await raw.waitForFrame((f) => f.name === 'end', 'the end reply');
    raw.flow(0, 10);
    await raw.waitForSocketClose();
  });
});

describe('what pyamqp expects', () => {
  test('the error of a detach has its three fields (condition, description, info)', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    raw.sendPerformative(
      frames.attach({ name: 'no-token', handle: 0, role: false, snd_settle_mode: 0, rcv_settle_mode: 0 }),
    );
    const detach = await raw.waitForFrame((f) => f.name === 'detach', 'the detach');
    expect(errorFieldCount(detach)).toBe(3);
    raw.close();
  });

  test('the error of a rejected delivery has its three fields', async () => {
    const raw = await RawAmqp.connect(emulator.amqpPort);
    const handle = await raw.producer(endpoint(), 'events/Partitions/0');
    const deliveryId = raw.transfer(handle, described(0x75, Buffer.from([0x40])));
    const outcome = await raw.disposition(deliveryId);
    expect(outcome.outcome).toBe('rejected');
    const disposition = raw.received.find(
      (f) => f.name === 'disposition' && f.performative?.first === deliveryId,
    )!;
    expect(errorFieldCount(disposition)).toBe(3);
    raw.close();
  });
});
