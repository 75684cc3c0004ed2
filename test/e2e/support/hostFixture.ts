// The shared setup of the local host's end-to-end tests (localHostHttp.test.ts and
// localHostEventHubs.test.ts): the fixture app (test/e2e/fixtures/hostApp) under the local host as a
// user runs it, against Azurite and the Event Hubs emulator with the hubs its triggers read.
import { type EventData, EventHubProducerClient, type SendBatchOptions } from '@azure/event-hubs';
import path from 'node:path';
import { type HostProcess, startHostProcess } from '../../../local/stack/processes';
import { type Backends, startBackends, writeSettings } from './backends';
import { SETTING_NAMES } from '../../../src/lib/settings';

export const FIXTURE_APP_ROOT = path.join(__dirname, '..', 'fixtures', 'hostApp');
export const CONSUMER_GROUP = 'tests';
/** A small body limit, so that the limit itself can be tested (the default is 100 MB). */
export const BODY_LIMIT = 2_000_000;

export interface FixtureHost {
  backends: Backends;
  /** The fixture app's host, reading hub 'fixture'. */
  host: HostProcess;
  recordFile: string;
}

/** A local.settings.json for the fixture app whose trigger reads `hub`. */
export function fixtureSettings(backends: Backends, name: string, hub: string): string {
  return writeSettings(backends.dir, name, {
    [SETTING_NAMES.storageConnection]: backends.storageConnectionString,
    [SETTING_NAMES.eventHubConnection]: backends.eventHubsConnectionString,
    FIXTURE_HUB: hub,
    FIXTURE_OBJECTS_HUB: 'objects',
    FIXTURE_BYTES_HUB: 'bytes',
    FIXTURE_CONSUMER_GROUP: CONSUMER_GROUP,
    FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: String(BODY_LIMIT),
  });
}

export async function sendBatches(
  backends: Backends,
  hub: string,
  batches: [EventData[], SendBatchOptions?][],
): Promise<void> {
  const producer = new EventHubProducerClient(backends.eventHubsConnectionString, hub);
  try {
    for (const [events, options] of batches) await producer.sendBatch(events, options);
  } finally {
    await producer.close();
  }
}

export async function startFixtureHost(): Promise<FixtureHost> {
  const backends = await startBackends([
    { name: 'fixture', partitions: 2, consumerGroups: [CONSUMER_GROUP] },
    { name: 'balance', partitions: 4, consumerGroups: [CONSUMER_GROUP] },
    { name: 'objects', partitions: 1, consumerGroups: [CONSUMER_GROUP] },
    { name: 'bytes', partitions: 1, consumerGroups: [CONSUMER_GROUP] },
    { name: 'moving', partitions: 1, consumerGroups: [CONSUMER_GROUP] },
    { name: 'app', partitions: 2, consumerGroups: ['processor'] },
  ]);
  const recordFile = path.join(backends.dir, 'fixture.records.ndjson');
  try {
    const host = await startHostProcess({
      appRoot: FIXTURE_APP_ROOT,
      port: 0,
      settingsFile: fixtureSettings(backends, 'fixture', 'fixture'),
      recordFile,
    });
    return { backends, host, recordFile };
  } catch (error) {
    await backends.stop();
    throw error;
  }
}

export async function stopFixtureHost(fixture: Partial<FixtureHost>): Promise<void> {
  await fixture.host?.stop();
  await fixture.backends?.stop();
}
