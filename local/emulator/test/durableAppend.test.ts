// The commit rule of the durable store (store/partition.ts over store/segmentFiles.ts, real files
// in a temporary directory): a send is acknowledged, and its events become visible to receivers,
// only once the write holding them has returned from disk; sends that arrive while a write is in
// flight share the next one (group commit); a crash before a write returns loses only sends never
// acknowledged, and a failed write acknowledges nothing of what it held. The only seam is a gate
// in front of the real SegmentFiles.write, which stands for a disk that has not answered yet.
import { message as rheaMessage } from 'rhea';
import { type IncomingEvent, parseTransfer } from '../amqp/eventMessage';
import { createLogger } from '../logger';
import { Partition } from '../store/partition';
import { PartitionLog, type StoredEvent } from '../store/partitionLog';
import { SegmentFiles } from '../store/segmentFiles';
import { tempDir } from '../../../test/support/tempDir';

const logger = createLogger('error');
const RETENTION = { maxBytes: 64 << 20, cutoffMs: 0 };

function incoming(body: string): IncomingEvent[] {
  return parseTransfer(rheaMessage.encode({ body }) as Buffer, 0).events;
}

/** The real segment files of a partition, with every write held until `release` lets it run. */
async function gatedFiles(dir: string) {
  const { files } = await SegmentFiles.open(dir, 1 << 20, RETENTION, logger);
  const writes: { events: StoredEvent[]; release: (fail?: Error) => void }[] = [];
  const realWrite = files.write.bind(files);
  files.write = (events: StoredEvent[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({
        events,
        release: (fail) => (fail ? reject(fail) : realWrite(events).then(resolve, reject)),
      });
    });
  return { files, writes };
}

async function recoveredSequenceNumbers(dir: string): Promise<number[]> {
  const { files, recovered } = await SegmentFiles.open(dir, 1 << 20, RETENTION, logger);
  await files.close();
  return recovered.events.map((event) => event.sequenceNumber);
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Lets the event loop turn until `done` holds (bounded: a broken store fails, not hangs). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let turn = 0; !done(); turn++) {
    if (turn > 10_000) throw new Error(`still waiting for ${what}`);
    await settle();
  }
}

const waitForWrites = (writes: unknown[], count: number) =>
  until(() => writes.length >= count, `write ${count} to start`);

const dirs: { remove(): void }[] = [];
function partitionDir(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir.path;
}
afterAll(() => dirs.forEach((dir) => dir.remove()));

describe('durable appends', () => {
  test('a send is acknowledged and visible only after its write returns; sends during a write share the next one', async () => {
    const dir = partitionDir('durable-append');
    const { files, writes } = await gatedFiles(dir);
    const log = new PartitionLog('events', '0', 64 << 20, logger);
    const partition = new Partition(log, files, Date.now);
    const acked: string[] = [];
    const ack = (name: string) => (error: Error | undefined) => acked.push(error ? `${name} failed` : name);

    partition.append(incoming('a'), ack('a'));
    await waitForWrites(writes, 1);
    // Three sends arrive while the first write is still on its way to disk.
    partition.append(incoming('b'), ack('b'));
    partition.append(incoming('c'), ack('c'));
    partition.append(incoming('d'), ack('d'));
    await settle();
    expect(writes).toHaveLength(1);
    expect(acked).toEqual([]);
    expect(log.size).toBe(0);

    writes[0].release();
    await waitForWrites(writes, 2);
    expect(acked).toEqual(['a']);
    expect(log.size).toBe(1);
    // One write for the three sends that waited: group commit.
    expect(writes[1].events.map((event) => event.sequenceNumber)).toEqual([1, 2, 3]);
    expect(await recoveredSequenceNumbers(dir)).toEqual([0]);

    writes[1].release();
    await partition.drain();
    expect(acked).toEqual(['a', 'b', 'c', 'd']);
    expect(log.size).toBe(4);
    expect(await recoveredSequenceNumbers(dir)).toEqual([0, 1, 2, 3]);
    await partition.close();
  });

  test('a crash before a write returns loses only sends that were never acknowledged', async () => {
    const dir = partitionDir('durable-crash');
    const { writes, files } = await gatedFiles(dir);
    const partition = new Partition(new PartitionLog('events', '0', 64 << 20, logger), files, Date.now);
    const acked: number[] = [];
    for (let i = 0; i < 3; i++) partition.append(incoming(`e${i}`), () => acked.push(i));
    await waitForWrites(writes, 1);
    writes[0].release();
    await until(() => acked.length === 3, 'the first three acknowledgements');
    partition.append(incoming('e3'), () => acked.push(3));
    await waitForWrites(writes, 2);
    // The process dies here: the second write never reaches the disk, and nothing of it was acknowledged.
    expect(acked).toEqual([0, 1, 2]);
    expect(await recoveredSequenceNumbers(dir)).toEqual([0, 1, 2]);
  });

  test('a failed write acknowledges nothing it held; numbering continues at its first event', async () => {
    const dir = partitionDir('durable-fail');
    const { files, writes } = await gatedFiles(dir);
    const log = new PartitionLog('events', '0', 64 << 20, logger);
    const partition = new Partition(log, files, Date.now);
    const outcomes: string[] = [];
    partition.append(incoming('lost'), (error) => outcomes.push(error ? `failed: ${error.message}` : 'ok'));
    await waitForWrites(writes, 1);
    writes[0].release(new Error('disk full'));
    await partition.drain();
    expect(outcomes).toEqual(['failed: disk full']);
    expect(log.size).toBe(0);

    partition.append(incoming('kept'), (error) => outcomes.push(error ? 'failed' : 'ok'));
    await waitForWrites(writes, 2);
    expect(writes[1].events[0].sequenceNumber).toBe(0);
    writes[1].release();
    await partition.drain();
    expect(outcomes).toEqual(['failed: disk full', 'ok']);
    expect(await recoveredSequenceNumbers(dir)).toEqual([0]);
    await partition.close();
  });
});
