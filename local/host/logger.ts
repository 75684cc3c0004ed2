// Console output in Core Tools' shape: `[<ISO time>] <message>`, filtered by host.json
// logging.logLevel (category keys such as "default", "Function", "Function.<name>.User").
import { type RpcLogLevel } from './coreTypes';

const LEVEL_ORDER: Record<RpcLogLevel, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
  none: 6,
};

const COLORS: Partial<Record<RpcLogLevel, string>> = {
  warning: '\x1b[33m',
  error: '\x1b[31m',
  critical: '\x1b[31m',
};

export interface LogSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Lines written in one turn of the event loop reach `stream` in one write. process.stdout on a pipe or
 * file writes synchronously, one system call per write: two lines per invocation were about 5 % of the
 * host's CPU on the HTTP path (bench:e2e). Core Tools does not write synchronously either: .NET's
 * console logger queues messages and writes them from a background thread (ConsoleLoggerProcessor in
 * dotnet/runtime, Microsoft.Extensions.Logging.Console). What is queued is written before the process
 * exits; as in .NET, lines of the last moment are lost only if the process is killed.
 */
export class CoalescingSink implements LogSink {
  private readonly stream: { write(text: string): unknown; isTTY?: boolean };
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;

  constructor(stream: { write(text: string): unknown; isTTY?: boolean }) {
    this.stream = stream;
    this.isTTY = stream.isTTY;
    process.once('exit', () => this.flush());
  }

  readonly isTTY?: boolean;

  write(text: string): void {
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(text);
  }
}

/** Beyond this much queued text the lines are written at once, so a burst never piles up in memory. */
const FLUSH_BYTES = 64 * 1024;

export class HostLogger {
  private readonly sink: LogSink;
  private readonly levels: [string, number][];
  private readonly color: boolean;

  constructor(sink: LogSink = process.stdout, logLevels: Record<string, string> = {}) {
    this.sink = sink;
    this.levels = Object.entries(logLevels).map(([category, level]) => [
      category.toLowerCase(),
      parseLevel(level),
    ]);
    this.color = Boolean(sink.isTTY) && !process.env.NO_COLOR;
  }

  isEnabled(level: RpcLogLevel, category: string): boolean {
    return LEVEL_ORDER[level] >= this.minimumLevel(category.toLowerCase()) && level !== 'none';
  }

  log(level: RpcLogLevel, message: string, category = 'Host.General'): void {
    if (!this.isEnabled(level, category)) return;
    const line = `[${new Date().toISOString()}] ${message}`;
    const color = this.color ? COLORS[level] : undefined;
    this.sink.write(color ? `${color}${line}\x1b[0m\n` : `${line}\n`);
  }

  /** Lines Core Tools prints without a timestamp (the banner and function list). */
  plain(text: string): void {
    this.sink.write(`${text}\n`);
  }

  private minimumLevel(category: string): number {
    let best: [string, number] | undefined;
    for (const entry of this.levels) {
      const [key] = entry;
      const matches = key === category || category.startsWith(`${key}.`);
      if (matches && (!best || key.length > best[0].length)) best = entry;
    }
    if (best) return best[1];
    const fallback = this.levels.find(([key]) => key === 'default');
    return fallback ? fallback[1] : LEVEL_ORDER.information;
  }
}

function parseLevel(level: string): number {
  const normalized = level.toLowerCase() === 'info' ? 'information' : (level.toLowerCase() as RpcLogLevel);
  return LEVEL_ORDER[normalized] ?? LEVEL_ORDER.information;
}
