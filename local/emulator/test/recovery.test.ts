// Recovery of damaged segment files (--data-dir): a torn write at the end of the newest segment is
// cut off and numbering continues after the last stored event; any other damage refuses to start,
// names the file and byte offset, and changes nothing, so no event is served wrongly, no
// acknowledged event silently disappears and no sequence number is handed out twice.
import { earliestEventPosition, EventHubProducerClient } from '@azure/event-hubs';
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { receiveEvents, startEmulatorInProcess } from '../../../test/integration/emulator/helpers';
import { tempDir } from '../../../test/support/tempDir';

jest.setTimeout(60_000);

const FILE_HEADER_SIZE = 32;
/** A 4 MB cap per partition makes segments of 1 MB (a quarter of it), the smallest there are. */
const OPTIONS = { logLevel: 'warn', retentionBytes: 4 << 20 } as const;

function partitionDir(dataDir: string, id = '0'): string {
  return path.join(dataDir, 'hubs', 'events', 'partitions', id);
}

function segmentFiles(dataDir: string): string[] {
  const dir = partitionDir(dataDir);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Byte positions where the records of a segment file start (the format of segmentFiles.ts). */
function recordStarts(file: string): number[] {
  const data = readFileSync(file);
  const starts: number[] = [];
  for (let pos = FILE_HEADER_SIZE; pos < data.length; pos += 8 + data.readUInt32LE(pos)) starts.push(pos);
  return starts;
}

function flipByte(file: string, position: number): void {
  const data = readFileSync(file);
  data[position] ^= 0xff;
  writeFileSync(file, data);
}

/** Sends each body as its own batch (one record each) to a partition, then stops cleanly. */
async function storeEvents(dataDir: string, batches: unknown[][], partitionId = '0'): Promise<void> {
  const emulator = await startEmulatorInProcess({ dataDir, ...OPTIONS });
  const producer = new EventHubProducerClient(emulator.connectionString, 'events');
  try {
    for (const bodies of batches) {
      await producer.sendBatch(
        bodies.map((body) => ({ body })),
        { partitionId },
      );
    }
  } finally {
    await producer.close();
    await emulator.stop();
  }
}

/** Starts on the data directory, expects a refusal, and checks that no file was changed. */
async function expectRefusal(dataDir: string, message: RegExp): Promise<Error | undefined> {
  const before = segmentFiles(dataDir).map((file) => [file, readFileSync(file)] as const);
  let refusal: Error | undefined;
  try {
    const emulator = await startEmulatorInProcess({ dataDir, ...OPTIONS });
    await emulator.stop(); // started despite the damage: the assertion below fails
  } catch (error) {
    refusal = error as Error;
  }
  expect(refusal?.message).toMatch(message);
  expect(segmentFiles(dataDir)).toEqual(before.map(([file]) => file));
  for (const [file, bytes] of before) expect(readFileSync(file).equals(bytes)).toBe(true);
  return refusal;
}

/** Starts, reads partition 0 from the start, sends one more event and returns what was seen. */
async function readAndAppend(dataDir: string, expectedCount: number) {
  const emulator = await startEmulatorInProcess({ dataDir, ...OPTIONS });
  try {
    const served = await receiveEvents(
      emulator.connectionString,
      'events',
      '0',
      earliestEventPosition,
      expectedCount,
    );
    const producer = new EventHubProducerClient(emulator.connectionString, 'events');
    try {
      await producer.sendBatch([{ body: 'after restart' }], { partitionId: '0' });
    } finally {
      await producer.close();
    }
    const [appended] = await receiveEvents(
      emulator.connectionString,
      'events',
      '0',
      { sequenceNumber: served[served.length - 1].sequenceNumber },
      1,
    );
    return { served, appended, logs: emulator.logs.join('\n') };
  } finally {
    await emulator.stop();
  }
}

describe('emulator recovery of damaged segment files', () => {
  test('a torn write at the end of the newest segment is cut off; numbering continues after the last stored event', async () => {
    const dir = tempDir('recover-torn');
    try {
      await storeEvents(dir.path, [['a'], ['b'], ['c']]);
      const [file] = segmentFiles(dir.path);
      const intactSize = readFileSync(file).length;
      // What a crash in the middle of writing a fourth record leaves: its first 50 bytes.
      const [, , third] = recordStarts(file);
      appendFileSync(file, readFileSync(file).subarray(third, third + 50));

      const { served, appended, logs } = await readAndAppend(dir.path, 3);
      expect(logs).toMatch(
        /\.seg ends with an incomplete write \(50 bytes after byte \d+: incomplete record/,
      );
      expect(served.map((e) => [e.body, e.sequenceNumber])).toEqual([
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ]);
      expect([appended.body, appended.sequenceNumber]).toEqual(['after restart', 3]);
      expect(Number(appended.offset)).toBeGreaterThan(Number(served[2].offset));
      expect(readFileSync(file).length).toBeGreaterThan(intactSize);
    } finally {
      dir.remove();
    }
  });

  test('a segment torn while being created is removed; numbering continues', async () => {
    const dir = tempDir('recover-torn-header');
    try {
      await storeEvents(dir.path, [['a'], ['b']]);
      const torn = path.join(partitionDir(dir.path), '00000000000000000002.seg');
      writeFileSync(torn, Buffer.from('EHEMSEG1\0\0\0', 'binary'));

      const { served, appended, logs } = await readAndAppend(dir.path, 2);
      expect(logs).toMatch(/00000000000000000002\.seg ends with an incomplete write/);
      expect(served.map((e) => e.sequenceNumber)).toEqual([0, 1]);
      expect(appended.sequenceNumber).toBe(2);
    } finally {
      dir.remove();
    }
  });

  test('a checksum mismatch in a middle record of the newest segment refuses to start, naming file and byte', async () => {
    const dir = tempDir('recover-middle');
    try {
      await storeEvents(dir.path, [['a'], ['b'], ['c']]);
      const [file] = segmentFiles(dir.path);
      const [, second] = recordStarts(file);
      flipByte(file, second + 40); // inside the event bytes of sequence number 1
      await expectRefusal(
        dir.path,
        new RegExp(
          `${file.replace(/[.\\]/g, '\\$&')} is damaged at byte ${second}: record checksum mismatch`,
        ),
      );
    } finally {
      dir.remove();
    }
  });

  test('a garbled header of the newest segment refuses to start when its records are intact', async () => {
    const dir = tempDir('recover-header');
    try {
      await storeEvents(dir.path, [['a'], ['b']]);
      const [file] = segmentFiles(dir.path);
      flipByte(file, 3);
      await expectRefusal(dir.path, /\.seg is damaged at byte 0: not a segment header/);
    } finally {
      dir.remove();
    }
  });

  test('damage in an older segment, or a gap between segments, refuses to start; the intact store serves everything', async () => {
    const dir = tempDir('recover-older');
    try {
      // Segments roll at 1 MB (OPTIONS): two batches of about 600 KB fill the first, the third opens a second.
      const batch = (n: number) =>
        Array.from({ length: 12 }, (_, i) => ({ n: n * 12 + i, pad: 'x'.repeat(50_000) }));
      await storeEvents(dir.path, [batch(0), batch(1), batch(2)]);
      const [older, newest] = segmentFiles(dir.path);
      expect(newest).toBeDefined();
      const intact = readFileSync(older);
      const starts = recordStarts(older);
      const lastRecord = starts[starts.length - 1];

      // The older segment's last record: where a torn write would be, had it been the newest.
      flipByte(older, lastRecord + 100);
      await expectRefusal(dir.path, new RegExp(`is damaged at byte ${lastRecord}: record checksum mismatch`));

      // The older segment loses its last record cleanly (on a record boundary): a gap.
      writeFileSync(older, intact);
      truncateSync(older, lastRecord);
      await expectRefusal(
        dir.path,
        /is damaged at byte \d+: it ends before sequence number 23 \(offset \d+\), but the next segment 00000000000000000024\.seg starts at 24/,
      );

      writeFileSync(older, intact);
      const { served, appended } = await readAndAppend(dir.path, 36);
      expect(served.map((e) => (e.body as { n: number }).n)).toEqual(Array.from({ length: 36 }, (_, i) => i));
      expect(served.map((e) => e.sequenceNumber)).toEqual(Array.from({ length: 36 }, (_, i) => i));
      expect(appended.sequenceNumber).toBe(36);
    } finally {
      dir.remove();
    }
  });

  test('the newest segment cut on a record boundary, or deleted, refuses to start: its sequence numbers were handed out', async () => {
    const dir = tempDir('recover-hwm');
    try {
      await storeEvents(dir.path, [['a'], ['b'], ['c']]);
      const [file] = segmentFiles(dir.path);
      const intact = readFileSync(file);
      const [, , third] = recordStarts(file);
      truncateSync(file, third);
      await expectRefusal(
        dir.path,
        /is damaged at byte \d+: the partition's segments end before sequence number 2 \(offset \d+\), but sequence numbers below 3 \(offsets below \d+\) were handed out before/,
      );

      renameSync(file, `${file}.moved`);
      await expectRefusal(dir.path, /segments end before sequence number 0 .*were handed out before/);

      // The documented way out: move the partition directory aside; numbering restarts at 0.
      renameSync(`${file}.moved`, file);
      writeFileSync(file, intact);
      renameSync(partitionDir(dir.path), `${partitionDir(dir.path)}.damaged`);
      const emulator = await startEmulatorInProcess({ dataDir: dir.path, ...OPTIONS });
      try {
        const producer = new EventHubProducerClient(emulator.connectionString, 'events');
        try {
          expect(await producer.getPartitionProperties('0')).toMatchObject({
            isEmpty: true,
            lastEnqueuedSequenceNumber: -1,
          });
        } finally {
          await producer.close();
        }
      } finally {
        await emulator.stop();
      }
    } finally {
      dir.remove();
    }
  });

  test('a damaged high-water mark refuses to start, naming the file and the way out; deleting it starts again', async () => {
    const dir = tempDir('recover-hwm-damaged');
    try {
      await storeEvents(dir.path, [['a'], ['b'], ['c']]);
      const mark = path.join(partitionDir(dir.path), 'high-water-mark.json');
      const torn = '{"nextSequenceNumber":3,"nextOff';
      writeFileSync(mark, torn);
      const refusal = await expectRefusal(
        dir.path,
        new RegExp(
          `${mark.replace(/[.\\]/g, '\\$&')} is damaged at byte 0: not a high-water mark .*` +
            'Restore the file, or delete it to start without the check that no stored event was lost',
        ),
      );
      expect(refusal?.name).toBe('SegmentDamageError');
      expect(readFileSync(mark, 'utf8')).toBe(torn);

      rmSync(mark);
      const { served, appended } = await readAndAppend(dir.path, 3);
      expect(served.map((e) => [e.body, e.sequenceNumber])).toEqual([
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ]);
      expect(appended.sequenceNumber).toBe(3);
    } finally {
      dir.remove();
    }
  });
});
