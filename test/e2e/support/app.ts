// The real compiled app (dist/, built by `npm run test:e2e` / `npm test` before jest) under the local
// host, and readers for what it says: its consumer log lines and the host's invocation records.
import path from 'node:path';
import { type HostProcess, type HostProcessOptions, startHostProcess } from '../../../local/stack/processes';
import { readRecords } from '../../../local/host/recorder';
import { type Backends, writeSettings } from './backends';
import { SETTING_NAMES } from '../../../src/lib/settings';

export const APP_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CONSUMER_GROUP = 'processor';

export interface AppHost extends HostProcess {
  recordFile: string;
  /** The local.settings.json it runs with (the operator tools take it as --settings). */
  settingsFile: string;
}

let counter = 0;

export async function startAppHost(
  backends: Backends,
  hub: string,
  options: Partial<HostProcessOptions> = {},
  extraSettings: Record<string, string> = {},
): Promise<AppHost> {
  const name = `${hub}-${++counter}`;
  const settingsFile = writeSettings(backends.dir, name, {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    [SETTING_NAMES.storageConnection]: backends.storageConnectionString,
    [SETTING_NAMES.eventHubConnection]: backends.eventHubsConnectionString,
    [SETTING_NAMES.eventHubName]: hub,
    [SETTING_NAMES.consumerGroup]: CONSUMER_GROUP,
    ...extraSettings,
  });
  const recordFile = path.join(backends.dir, `${name}.records.ndjson`);
  const host = await startHostProcess({ appRoot: APP_ROOT, port: 0, settingsFile, recordFile, ...options });
  return { ...host, recordFile, settingsFile };
}

export interface ConsumerLine {
  partitionId: string;
  sequenceNumber: number;
  offset: string;
  partitionKey: string | null;
  properties: Record<string, unknown>;
  contentType: string | null;
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  error?: string;
  deadLetterBlob?: string;
}

/** The app's `EventProcessed` / `EventFailed` lines in a host's output. */
export function consumerLines(host: HostProcess, kind: 'EventProcessed' | 'EventFailed'): ConsumerLine[] {
  const pattern = new RegExp(`^\\[\\S+\\] ${kind} (\\{.*\\})$`);
  return host.child.lines.flatMap((line) => {
    const match = pattern.exec(line);
    return match ? [JSON.parse(match[1]) as ConsumerLine] : [];
  });
}

/** `partitionId/sequenceNumber` of every event the consumer's handler received (from the host's records). */
export function deliveredEvents(recordFile: string): string[] {
  return readRecords(recordFile)
    .filter((record) => record.functionName === 'processEvents')
    .flatMap((record) => {
      const metadata = record.triggerMetadata as {
        partitionContext: { partitionId: string };
        sequenceNumberArray: number[];
      };
      return metadata.sequenceNumberArray.map((n) => `${metadata.partitionContext.partitionId}/${n}`);
    });
}

export async function post(
  url: string,
  body: string | Buffer,
  contentType: string | undefined,
  options: { query?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const headers: Record<string, string> = { ...options.headers };
  if (contentType) headers['content-type'] = contentType;
  const response = await fetch(`${url}/api/events${options.query ? `?${options.query}` : ''}`, {
    method: options.method ?? 'POST',
    headers,
    body: options.method === 'GET' || options.method === 'HEAD' ? undefined : body,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}
