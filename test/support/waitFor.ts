// Waiting on a condition instead of a clock: `condition` is polled until it gives something other
// than undefined or false, which is returned. The deadline only turns a hang into a failure (it is
// no timed assertion); the last error the condition threw, if any, is in the message.
export interface WaitOptions {
  /** What is awaited, for the timeout message: "the consumer lines in the stack output". */
  what: string;
  timeoutMs: number;
  /** How often the condition is polled; default 100 ms. */
  intervalMs?: number;
}

export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  { what, timeoutMs, intervalMs = 100 }: WaitOptions,
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
