// Server-sent events to every open page (/api/stream): log lines, chart samples, partition state,
// and new events. Messages are collected and flushed a few times a second, so a busy
// consumer (a thousand log lines a second) costs the page a few messages, not thousands.
import type { ServerResponse } from 'node:http';
import type { StreamMessages } from './api';

const FLUSH_MS = 250;
const KEEP_ALIVE_MS = 15_000;
/** A page shows recent events and lines; a burst beyond these per flush is cut to its newest ones. */
const MAX_EVENTS_PER_FLUSH = 200;
const MAX_LOG_PER_FLUSH = 500;

type Batched = 'log' | 'events';

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly pending: { [K in Batched]: StreamMessages[K] } = { log: [], events: [] };
  private latest: Partial<Omit<StreamMessages, Batched>> = {};
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly keepAlive: NodeJS.Timeout;
  private readonly onCountChange: (count: number) => void;

  constructor(onCountChange: (count: number) => void = () => undefined) {
    this.onCountChange = onCountChange;
    this.keepAlive = setInterval(() => {
      for (const client of this.clients) client.write(': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  get count(): number {
    return this.clients.size;
  }

  add(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write(': connected\n\n');
    this.clients.add(response);
    response.once('close', () => {
      this.clients.delete(response);
      this.onCountChange(this.clients.size);
    });
    this.onCountChange(this.clients.size);
  }

  /** Batched messages: appended and sent together. */
  append<K extends Batched>(name: K, items: StreamMessages[K]): void {
    if (this.clients.size === 0) return;
    (this.pending[name] as unknown[]).push(...items);
    this.schedule();
  }

  /** State messages: only the newest of each is sent. */
  set<K extends Exclude<keyof StreamMessages, Batched>>(name: K, value: StreamMessages[K]): void {
    if (this.clients.size === 0) return;
    this.latest[name] = value;
    this.schedule();
  }

  close(): void {
    clearInterval(this.keepAlive);
    clearTimeout(this.flushTimer);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private schedule(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const messages: [string, unknown][] = [];
    if (this.pending.log.length) messages.push(['log', this.pending.log.splice(0).slice(-MAX_LOG_PER_FLUSH)]);
    if (this.pending.events.length) {
      messages.push(['events', this.pending.events.splice(0).slice(-MAX_EVENTS_PER_FLUSH)]);
    }
    for (const [name, value] of Object.entries(this.latest)) messages.push([name, value]);
    this.latest = {};
    const text = messages.map(([name, value]) => sseMessage(name, value)).join('');
    for (const client of this.clients) client.write(text);
  }
}

function sseMessage(name: string, value: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(value)}\n\n`;
}
