// host.json: the parts the local host honours, with the Functions host's defaults.
import { existsSync, readFileSync } from 'node:fs';
import { HostSettingsError } from './settings';

export type InitialOffset =
  { type: 'fromStart' } | { type: 'fromEnd' } | { type: 'fromEnqueuedTime'; enqueuedTimeUtc: Date };

export interface EventHubsHostOptions {
  maxEventBatchSize: number;
  minEventBatchSize: number;
  maxWaitTimeMs: number;
  batchCheckpointFrequency: number;
  prefetchCount: number;
  initialOffset: InitialOffset;
  /** loadBalancingUpdateInterval / partitionOwnershipExpirationInterval, when host.json sets them. */
  loadBalancingUpdateIntervalMs?: number;
  partitionOwnershipExpirationMs?: number;
  clientRetry: {
    mode: 'exponential' | 'fixed';
    tryTimeoutMs: number;
    delayMs: number;
    maximumDelayMs: number;
    maximumRetries: number;
  };
}

export interface HostJson {
  file?: string;
  routePrefix: string;
  /** host.json `functions`: when set, only these functions run. */
  functions?: string[];
  /** host.json logging.logLevel, keys as written ("default", "Function", "Function.<name>", ...). */
  logLevels: Record<string, string>;
  eventHubs: EventHubsHostOptions;
}

export const EVENT_HUBS_DEFAULTS: EventHubsHostOptions = {
  maxEventBatchSize: 100,
  minEventBatchSize: 1,
  maxWaitTimeMs: 60_000,
  batchCheckpointFrequency: 1,
  prefetchCount: 300,
  initialOffset: { type: 'fromStart' },
  clientRetry: {
    mode: 'exponential',
    tryTimeoutMs: 60_000,
    delayMs: 800,
    maximumDelayMs: 60_000,
    maximumRetries: 3,
  },
};

export function readHostJson(file: string): HostJson {
  if (!existsSync(file)) return { routePrefix: 'api', logLevels: {}, eventHubs: EVENT_HUBS_DEFAULTS };
  let json: RawJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HostSettingsError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const extensions = section(json, 'extensions');
  const routePrefix = section(extensions, 'http').routePrefix;
  const logLevels = section(section(json, 'logging'), 'logLevel');
  return {
    file,
    routePrefix: typeof routePrefix === 'string' ? routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    functions: Array.isArray(json.functions) ? json.functions.map(String) : undefined,
    logLevels: Object.fromEntries(Object.entries(logLevels).map(([key, level]) => [key, String(level)])),
    eventHubs: parseEventHubsOptions(section(extensions, 'eventHubs'), file),
  };
}

function parseEventHubsOptions(raw: RawJson, file: string): EventHubsHostOptions {
  const d = EVENT_HUBS_DEFAULTS;
  const positive = (name: string, fallback: number) => {
    const value = raw[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new HostSettingsError(`${file}: extensions.eventHubs.${name} must be a positive integer`);
    }
    return value;
  };
  const retry = section(raw, 'clientRetryOptions');
  const maxEventBatchSize = positive('maxEventBatchSize', d.maxEventBatchSize);
  const minEventBatchSize = positive('minEventBatchSize', d.minEventBatchSize);
  if (minEventBatchSize > maxEventBatchSize) {
    throw new HostSettingsError(`${file}: extensions.eventHubs.minEventBatchSize exceeds maxEventBatchSize`);
  }
  return {
    maxEventBatchSize,
    minEventBatchSize,
    maxWaitTimeMs: raw.maxWaitTime === undefined ? d.maxWaitTimeMs : parseTimeSpan(raw.maxWaitTime, file),
    batchCheckpointFrequency: positive('batchCheckpointFrequency', d.batchCheckpointFrequency),
    prefetchCount: raw.prefetchCount === 0 ? 0 : positive('prefetchCount', d.prefetchCount),
    initialOffset: parseInitialOffset(section(raw, 'initialOffsetOptions'), file),
    loadBalancingUpdateIntervalMs:
      raw.loadBalancingUpdateInterval === undefined
        ? undefined
        : parseTimeSpan(raw.loadBalancingUpdateInterval, file),
    partitionOwnershipExpirationMs:
      raw.partitionOwnershipExpirationInterval === undefined
        ? undefined
        : parseTimeSpan(raw.partitionOwnershipExpirationInterval, file),
    clientRetry: {
      mode: String(retry.mode ?? d.clientRetry.mode).toLowerCase() === 'fixed' ? 'fixed' : 'exponential',
      tryTimeoutMs:
        retry.tryTimeout === undefined ? d.clientRetry.tryTimeoutMs : parseTimeSpan(retry.tryTimeout, file),
      delayMs: retry.delay === undefined ? d.clientRetry.delayMs : parseTimeSpan(retry.delay, file),
      maximumDelayMs:
        retry.maximumDelay === undefined
          ? d.clientRetry.maximumDelayMs
          : parseTimeSpan(retry.maximumDelay, file),
      maximumRetries: Number.isInteger(retry.maximumRetries)
        ? Number(retry.maximumRetries)
        : d.clientRetry.maximumRetries,
    },
  };
}

function parseInitialOffset(raw: RawJson, file: string): InitialOffset {
  const type = String(raw.type ?? 'fromStart').toLowerCase();
  if (type === 'fromstart') return { type: 'fromStart' };
  if (type === 'fromend') return { type: 'fromEnd' };
  if (type === 'fromenqueuedtime') {
    const time = new Date(String(raw.enqueuedTimeUtc ?? ''));
    if (Number.isNaN(time.getTime())) {
      throw new HostSettingsError(
        `${file}: initialOffsetOptions.enqueuedTimeUtc must be a date for fromEnqueuedTime`,
      );
    }
    return { type: 'fromEnqueuedTime', enqueuedTimeUtc: time };
  }
  throw new HostSettingsError(
    `${file}: initialOffsetOptions.type must be fromStart, fromEnd or fromEnqueuedTime`,
  );
}

type RawJson = Record<string, unknown>;

function section(json: RawJson, key: string): RawJson {
  const value = json[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as RawJson) : {};
}

/** Parses a .NET TimeSpan string (`[d.]hh:mm:ss[.fffffff]`) into milliseconds. */
export function parseTimeSpan(value: unknown, file = 'host.json'): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(String(value).trim());
  if (!match) throw new HostSettingsError(`${file}: "${String(value)}" is not a time span like 00:01:00`);
  const [, days, hours, minutes, seconds, fraction] = match;
  const ms =
    ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction ?? '0'}`) * 1000);
  return ms;
}
