// The one error of the durable store: damage on disk (a segment or the high-water mark) that
// recovery must not repair by cutting. It names the file and byte offset and says what to do;
// nothing was changed on disk when it is thrown, because repairs (cutting a torn tail) run only
// once the whole partition has checked out.

/** Damage that recovery must not repair by cutting: acknowledged events could be lost or renumbered. */
export class SegmentDamageError extends Error {
  override name = 'SegmentDamageError';
  constructor(
    readonly file: string,
    readonly byteOffset: number,
    reason: string,
    partitionDir: string,
    /** What to do instead of the default (restore the file or start the partition empty). */
    remedy = `Restore the file, or move ${partitionDir} aside to start the partition empty ` +
      `(numbering restarts at 0, so checkpoints of this partition become invalid).`,
  ) {
    super(
      `recovery: ${file} is damaged at byte ${byteOffset}: ${reason}. Acknowledged events could be lost ` +
        `or their sequence numbers reused, so the emulator does not start and nothing was changed. ` +
        remedy,
    );
  }
}
