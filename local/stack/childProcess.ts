// A TypeScript entry point (local/...) run as a real child process (`node --import tsx`, one
// process, so its pid is the one to signal), with its output split into lines for whoever watches.
// It stops by itself when its parent goes away (EXIT_WITH_PARENT).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild } from '../stopChild';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Node options that make a child stop (as on SIGTERM) once its parent is gone, even after kill -9;
 * the child's stdin must be a pipe from the parent (see exitWithParent.ts).
 */
export const EXIT_WITH_PARENT = ['--require', path.join(__dirname, 'exitWithParent.ts')];

export interface ChildOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group: the terminal's Ctrl-C reaches only the parent, which stops children in order. */
  detached?: boolean;
  /** Called with every line of stdout and stderr. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many recent lines `lines` keeps: tests read whole outputs; `npm start` runs for days. Default: all. */
  keepLines?: number;
}

export class ChildExitedError extends Error {
  override readonly name = 'ChildExitedError';
  readonly code = 'ChildExited';
}

export class TsChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(name: string, script: string, options: ChildOptions = {}) {
    this.name = name;
    this.process = spawn(
      process.execPath,
      [...EXIT_WITH_PARENT, '--import', 'tsx', path.resolve(REPO_ROOT, script), ...(options.args ?? [])],
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: options.env ?? process.env,
        detached: options.detached ?? false,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const keepLines = options.keepLines ?? Infinity;
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.process[stream]! }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > keepLines) this.lines.splice(0, this.lines.length - keepLines);
        options.onLine?.(line, stream);
        for (const listener of this.listeners) listener(line);
      });
    }
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves with the first line (already seen or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const seen = this.lines.map((line) => line.match(pattern)).find(Boolean);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (error?: Error, match?: RegExpMatchArray) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (error) reject(error);
        else resolve(match!);
      };
      const listener = (line: string) => {
        const match = line.match(pattern);
        if (match) done(undefined, match);
      };
      const timer = setTimeout(
        () =>
          done(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms${this.tail()}`)),
        timeoutMs,
      );
      this.listeners.add(listener);
      void this.exited.then(({ code, signal }) =>
        done(
          new ChildExitedError(
            `${this.name} exited (${signal ?? `code ${code}`}) before ${pattern}${this.tail()}`,
          ),
        ),
      );
    });
  }

  /** Asks the child to stop (SIGINT by default), then kills it if it has not exited in time. */
  stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 20_000): Promise<void> {
    return stopChild(this.process, signal, timeoutMs);
  }

  /** kill -9: no chance to clean up. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }

  private tail(): string {
    const tail = this.lines.slice(-15).join('\n');
    return tail ? `\n--- last output of ${this.name} ---\n${tail}` : '';
  }
}
