// Makes directory entries durable: a new segment or a renamed high-water mark survives a power loss
// only once its directory is synced too. Asynchronous, like the segment writes: a directory fsync
// can take milliseconds on a busy disk, and the emulator's one thread serves every connection.
import { open } from 'node:fs/promises';

/** Syncs a directory (Linux and macOS; a no-op where unsupported). */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return; // Windows cannot open directories; NTFS journals the entry.
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms refuse fsync on a directory handle (EINVAL, EISDIR, EPERM): nothing more can be done.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}
