// What every view shares: the hub's overview, the latest partition state, chart samples, the log,
// and a tiny publish/subscribe for the live stream's messages.
import type { LogEntry, MetricsSample, Overview, PartitionView, StatusView, StreamMessages } from '../api';

export const MAX_LOG_ENTRIES = 2000;
export const MAX_SAMPLES = 120;

export const state = {
  overview: undefined as Overview | undefined,
  partitions: [] as PartitionView[],
  metrics: [] as MetricsSample[],
  log: [] as LogEntry[],
  status: { eventHubs: { ok: false, message: 'connecting' } } as StatusView,
  streamConnected: false,
};

type Topics = StreamMessages & { stream: boolean };
type Listener<K extends keyof Topics> = (value: Topics[K]) => void;
const listeners = new Map<keyof Topics, ((value: never) => void)[]>();

export function on<K extends keyof Topics>(topic: K, listener: Listener<K>): void {
  listeners.set(topic, [...(listeners.get(topic) ?? []), listener as (value: never) => void]);
}

export function emit<K extends keyof Topics>(topic: K, value: Topics[K]): void {
  for (const listener of listeners.get(topic) ?? []) (listener as Listener<K>)(value);
}

export function addLogEntries(entries: LogEntry[]): void {
  const lastId = state.log.at(-1)?.id ?? 0;
  const fresh = entries.filter((entry) => entry.id > lastId);
  state.log.push(...fresh);
  if (state.log.length > MAX_LOG_ENTRIES) state.log.splice(0, state.log.length - MAX_LOG_ENTRIES);
}

export function addSample(sample: MetricsSample): void {
  state.metrics.push(sample);
  if (state.metrics.length > MAX_SAMPLES) state.metrics.splice(0, state.metrics.length - MAX_SAMPLES);
}
