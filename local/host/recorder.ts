// `--record <file>`: one JSON line per finished invocation with exactly what the handler received.
// Tests and benchmarks read it to see the consumer's inputs without depending on log formats.
// Written synchronously, before the Event Hubs trigger checkpoints, so a crash never hides an
// invocation that a checkpoint already covers.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { InvocationResult } from './invoke';

export interface InvocationRecord {
  startedAt: string;
  finishedAt: string;
  functionName: string;
  invocationId: string;
  succeeded: boolean;
  error?: string;
  durationMs: number;
  retryCount?: number;
  /** The handler's arguments before the context; Buffers appear as `{ "$bytes": "<base64>" }`. */
  inputs: unknown[];
  triggerMetadata?: unknown;
}

export class InvocationRecorder {
  readonly file: string;

  constructor(file: string) {
    this.file = path.resolve(file);
    mkdirSync(path.dirname(this.file), { recursive: true });
  }

  record(
    functionName: string,
    result: InvocationResult,
    inputs: unknown[],
    context: unknown,
    retryContext?: { retryCount?: number | null } | null,
  ): void {
    const record: InvocationRecord = {
      startedAt: new Date(result.startedAt).toISOString(),
      finishedAt: new Date().toISOString(),
      functionName,
      invocationId: result.invocationId,
      succeeded: result.succeeded,
      error: result.succeeded ? undefined : errorMessage(result.error),
      durationMs: Math.round(result.durationMs * 1000) / 1000,
      retryCount: retryContext?.retryCount ?? undefined,
      inputs,
      triggerMetadata: (context as { triggerMetadata?: unknown } | undefined)?.triggerMetadata,
    };
    appendFileSync(this.file, `${JSON.stringify(recordable(record), replacer)}\n`);
  }
}

/** Every record written to `file` so far; none when it does not exist yet. */
export function readRecords(file: string): InvocationRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as InvocationRecord);
}

/**
 * Buffers as `{ "$bytes": "<base64>" }` and the library's HttpRequest as its method and URL, converted
 * before JSON.stringify: a replacer sees a Buffer only after its toJSON turned it into an array of
 * numbers, which was a tenth of the host's CPU per consumed event (bench:e2e).
 */
function recordable(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Buffer.isBuffer(value)) return { $bytes: value.toString('base64') };
  if (isHttpRequest(value)) return { method: value.method, url: value.url };
  if (Array.isArray(value)) return value.map(recordable);
  // Other objects (class instances) are left to the replacer, which converts what they hold.
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  // No prototype: a key named "__proto__" is copied like any other.
  const copy = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) copy[key] = recordable(item);
  return copy;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (Buffer.isBuffer(original)) return { $bytes: original.toString('base64') };
  if (isHttpRequest(original)) return { method: original.method, url: original.url };
  return value;
}

function isHttpRequest(value: unknown): value is { method: string; url: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    value.constructor?.name === 'HttpRequest' &&
    typeof (value as { method?: unknown }).method === 'string'
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
