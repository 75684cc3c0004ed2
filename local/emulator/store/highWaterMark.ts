// high-water-mark.json: the partition's next sequence number and offset, written atomically at
// every start, segment roll and clean stop. Recovery compares the segments against it, so a
// segment truncated on a record boundary or deleted (which leaves no torn bytes to notice) is
// caught instead of its sequence numbers being handed out a second time.
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from './directorySync';
import { SegmentDamageError } from './segmentDamage';

export const HIGH_WATER_MARK_FILE = 'high-water-mark.json';

/** Where the next record of a partition goes. */
export interface Position {
  nextSequenceNumber: number;
  nextOffset: number;
}

/** The partition's high-water mark, or undefined for a new partition (no file yet). */
export async function readHighWaterMark(dir: string): Promise<Position | undefined> {
  const file = path.join(dir, HIGH_WATER_MARK_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // a new partition
    throw error;
  }
  let mark: Partial<Position> | undefined;
  try {
    mark = JSON.parse(text) as Partial<Position>;
  } catch {
    // reported below
  }
  if (typeof mark?.nextSequenceNumber !== 'number' || typeof mark.nextOffset !== 'number') {
    throw new SegmentDamageError(
      file,
      0,
      `not a high-water mark (${JSON.stringify(text.slice(0, 100))}, where ` +
        `{"nextSequenceNumber":<number>,"nextOffset":<number>} belongs)`,
      dir,
      `Restore the file, or delete it to start without the check that no stored event was lost ` +
        `(numbering then continues after the last stored event).`,
    );
  }
  return { nextSequenceNumber: mark.nextSequenceNumber, nextOffset: mark.nextOffset };
}

/** Replaces the high-water mark atomically (write, sync, rename, sync the directory). */
export async function writeHighWaterMark(dir: string, position: Position): Promise<void> {
  const file = path.join(dir, HIGH_WATER_MARK_FILE);
  const handle = await open(`${file}.tmp`, 'w');
  try {
    const { nextSequenceNumber, nextOffset } = position;
    await handle.writeFile(JSON.stringify({ nextSequenceNumber, nextOffset }) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${file}.tmp`, file);
  await syncDirectory(dir);
}
