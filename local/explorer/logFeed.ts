// The host's log stream as the explorer sees it: the stack hands over every output line of the local
// host (the lines it already splits and prints), and this keeps the consumer's structured ones
// (`<Kind> <JSON object>`, src/lib/consume/eventLog.ts), numbered, for the live log table and the chart.
import type { LogEntry } from './api';

/** The host prints `[<ISO time>] <message>` (local/host/logger.ts); the app's lines are `<Kind> {...}`. */
const CONSUMER_LINE = /^\[(\d{4}-\d\d-\d\dT[^\]]+)\] ([A-Z][A-Za-z]+) (\{.*\})\s*$/;

export function parseConsumerLine(line: string): Omit<LogEntry, 'id'> | undefined {
  const match = CONSUMER_LINE.exec(line);
  if (!match) return undefined;
  let fields: unknown;
  try {
    fields = JSON.parse(match[3]);
  } catch {
    return undefined;
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  return { time: match[1], kind: match[2], fields: fields as Record<string, unknown> };
}

export class LogFeed {
  private readonly capacity: number;
  private readonly entries: LogEntry[] = [];
  private readonly listeners = new Set<(entry: LogEntry) => void>();
  private nextId = 1;

  constructor(capacity = 5000) {
    this.capacity = capacity;
  }

  /** Any line of the host's output; lines that are not the consumer's are ignored. */
  push(line: string): void {
    const parsed = parseConsumerLine(line);
    if (!parsed) return;
    const entry = { id: this.nextId++, ...parsed };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    for (const listener of this.listeners) listener(entry);
  }

  /** Entries after `afterId`, oldest first (all that are kept when 0). */
  since(afterId = 0): LogEntry[] {
    return this.entries.filter((entry) => entry.id > afterId);
  }

  subscribe(listener: (entry: LogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
