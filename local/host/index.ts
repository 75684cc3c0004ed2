// The local Functions host's public surface: what the stack, the explorer, scripts and benchmarks
// may use. `npm start` runs it as a process (local/host/cli.ts); startHost runs it in this one.
export { DEFAULT_HTTP_PORT, startHost, type LocalHostOptions, type RunningHost } from './host';
export { readRecords, type InvocationRecord } from './recorder';
export { HostSettingsError, readLocalSettings, type LocalSettings } from './settings';
