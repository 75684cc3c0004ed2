// W3C trace context (https://www.w3.org/TR/trace-context/) on events, so that one request can be
// followed from the publisher to every consumer line of its events. The publisher stamps each event
// with `traceparent` and `Diagnostic-Id` (the application property the Event Hubs SDKs and the
// Functions host's Event Hubs extension read); the consumer's log lines carry the trace id.
import { randomBytes } from 'node:crypto';
import type { EventData } from '@azure/event-hubs';

export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the span the events descend from. */
  parentId: string;
  /** Two hex digits; bit 0 is "sampled". */
  flags: string;
}

export const TRACEPARENT_PROPERTY = 'traceparent';
export const DIAGNOSTIC_ID_PROPERTY = 'Diagnostic-Id';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * A `traceparent` value, or null when it is not valid: version ff, an all-zero trace or parent id, or
 * version 00 with anything after the flags. Later versions are read by their first four fields, as
 * the specification asks. Upper-case hex is invalid.
 */
export function parseTraceparent(value: unknown): TraceContext | null {
  if (typeof value !== 'string') return null;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return null;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return null;
  return { traceId, parentId, flags };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.parentId}-${context.flags}`;
}

/**
 * The trace context a request's events carry:
 * - the request's `traceparent` when valid (the caller's trace goes on), with the invocation's own span
 *   as parent when the host continued that trace (in Azure the host's invocation activity, which
 *   Application Insights records as the request);
 * - otherwise the invocation's trace context when valid (in Azure, the trace the host started for
 *   this request, so the events join the request's operation);
 * - otherwise a new trace, sampled.
 */
export function requestTraceContext(
  requestTraceparent: string | null | undefined,
  invocationTraceparent?: string | null,
): TraceContext {
  const caller = parseTraceparent(requestTraceparent);
  const invocation = parseTraceparent(invocationTraceparent);
  if (caller) return invocation?.traceId === caller.traceId ? invocation : caller;
  return invocation ?? newTraceContext();
}

export function newTraceContext(): TraceContext {
  return { traceId: randomHex(16), parentId: randomHex(8), flags: '01' };
}

/** Sets `traceparent` and `Diagnostic-Id` on every event (replacing any given by the caller). */
export function stampTraceContext(events: readonly EventData[], context: TraceContext): string {
  const traceparent = formatTraceparent(context);
  for (const event of events) {
    event.properties = {
      ...event.properties,
      [TRACEPARENT_PROPERTY]: traceparent,
      [DIAGNOSTIC_ID_PROPERTY]: traceparent,
    };
  }
  return traceparent;
}

/**
 * The trace id of a consumed event, from its application properties: `traceparent`, else
 * `Diagnostic-Id` (which the Functions host hands over as `diagnostic-Id`: it lower-cases the first
 * letter of every property name). Null when neither is valid.
 */
export function traceIdOf(properties: Record<string, unknown>): string | null {
  const context =
    parseTraceparent(properties[TRACEPARENT_PROPERTY]) ??
    parseTraceparent(properties[DIAGNOSTIC_ID_PROPERTY]) ??
    parseTraceparent(properties['diagnostic-Id']);
  return context?.traceId ?? null;
}

/**
 * Random bytes are drawn from the CSPRNG a page at a time, each byte used once: one call per
 * request cost more than the rest of the trace stamping (a sampling profile of the local host).
 */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolAt = 0;

function randomHex(bytes: number): string {
  for (;;) {
    if (randomPoolAt + bytes > randomPool.length) {
      randomPool = randomBytes(RANDOM_POOL_BYTES);
      randomPoolAt = 0;
    }
    const hex = randomPool.toString('hex', randomPoolAt, randomPoolAt + bytes);
    randomPoolAt += bytes;
    // An all-zero trace-id or parent-id is invalid (W3C Trace Context).
    if (!/^0+$/.test(hex)) return hex;
  }
}

/**
 * Trace properties as they are to be published again (replay): the host hands `Diagnostic-Id` over as
 * `diagnostic-Id`, so that one is dropped and both are set anew from a valid `traceparent`.
 */
export function republishedTraceProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const { ['diagnostic-Id']: lowered, ...rest } = properties;
  void lowered;
  const context =
    parseTraceparent(rest[TRACEPARENT_PROPERTY]) ?? parseTraceparent(rest[DIAGNOSTIC_ID_PROPERTY]);
  if (context === null) return rest;
  const traceparent = formatTraceparent(context);
  return { ...rest, [TRACEPARENT_PROPERTY]: traceparent, [DIAGNOSTIC_ID_PROPERTY]: traceparent };
}
