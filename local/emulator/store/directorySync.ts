// Makes directory entries durable: a new segment or a renamed high-water mark survives a power loss
// only once its directory is synced too.
import { closeSync, fsyncSync, openSync } from 'node:fs';

/** Syncs a directory (Linux and macOS; a no-op where unsupported). */
export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Windows cannot open directories; NTFS journals the entry.
  }
}
