import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EVENT_HUBS_DEFAULTS, parseTimeSpan, readHostJson } from '../../../local/host/hostJson';
import {
  applyToEnvironment,
  readSettingSection,
  resolveSettingReferences,
  HostSettingsError,
} from '../../../local/host/settings';
import { canRetry, retryDelayMs, retryPolicyFrom } from '../../../local/host/retry';
import { eventHubsTarget, storageTarget } from '../../../local/stack/localSettings';
import { tempDir } from '../../support/tempDir';

const dir = tempDir('host-config').path;
const hostJson = (json: object) => {
  const file = path.join(dir, `${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(json));
  return readHostJson(file);
};

test('host.json: defaults of the Functions host when absent', () => {
  expect(readHostJson(path.join(dir, 'missing.json'))).toEqual({
    routePrefix: 'api',
    logLevels: {},
    eventHubs: EVENT_HUBS_DEFAULTS,
  });
});

test('host.json: route prefix, Event Hubs options and time spans', () => {
  const parsed = hostJson({
    extensions: {
      http: { routePrefix: '/v1/' },
      eventHubs: {
        maxEventBatchSize: 10,
        maxWaitTime: '00:00:05',
        batchCheckpointFrequency: 3,
        initialOffsetOptions: { type: 'FromEnqueuedTime', enqueuedTimeUtc: '2024-01-01T00:00:00Z' },
        clientRetryOptions: { mode: 'fixed', delay: '00:00:00.25', maximumDelay: '00:00:30' },
      },
    },
  });
  expect(parsed.routePrefix).toBe('v1');
  expect(parsed.eventHubs).toMatchObject({
    maxEventBatchSize: 10,
    maxWaitTimeMs: 5000,
    batchCheckpointFrequency: 3,
    initialOffset: { type: 'fromEnqueuedTime', enqueuedTimeUtc: new Date('2024-01-01T00:00:00Z') },
    clientRetry: { mode: 'fixed', delayMs: 250, maximumDelayMs: 30_000 },
  });
  expect(hostJson({ extensions: { http: { routePrefix: '' } } }).routePrefix).toBe('');
  expect(parseTimeSpan('1.02:03:04.5')).toBe(((26 * 60 + 3) * 60 + 4) * 1000 + 500);
  expect(() => hostJson({ extensions: { eventHubs: { maxEventBatchSize: 0 } } })).toThrow(HostSettingsError);
  expect(() => hostJson({ extensions: { eventHubs: { maxWaitTime: '5s' } } })).toThrow(/time span/);
});

test('settings: environment wins, %NAME% resolves, sections are case-insensitive', () => {
  const env: NodeJS.ProcessEnv = { KEEP: 'from-env' };
  expect(applyToEnvironment({ KEEP: 'from-file', NEW: 'value' }, env)).toEqual(['KEEP']);
  expect(env).toEqual({ KEEP: 'from-env', NEW: 'value' });
  expect(resolveSettingReferences('%NEW%-%KEEP%', env)).toBe('value-from-env');
  expect(() => resolveSettingReferences('%MISSING%', env)).toThrow(/'%MISSING%' does not resolve/);
  expect(
    readSettingSection('EventHubConnection', {
      EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      eventhubconnection__ClientId: 'abc',
    }),
  ).toEqual({
    value: undefined,
    section: { fullyqualifiednamespace: 'ns.servicebus.windows.net', clientid: 'abc' },
  });
});

test('retry policies: fixed and exponential delays, bounded and unbounded counts', () => {
  const fixed = retryPolicyFrom({
    retryStrategy: 'fixedDelay',
    maxRetryCount: 2,
    delayInterval: { seconds: 3 },
  })!;
  expect([retryDelayMs(fixed, 1), canRetry(fixed, 1), canRetry(fixed, 2)]).toEqual([3000, true, false]);
  const exponential = retryPolicyFrom({
    retryStrategy: 'exponentialBackoff',
    maxRetryCount: -1,
    minimumInterval: { seconds: 10 },
    maximumInterval: { seconds: 60 },
  })!;
  // RandomizedExponentialBackoffStrategy: min, then min + rand(0.8..1.2) x 2^(n-2) x min, capped.
  const at = (random: number) => [1, 2, 3, 4, 5].map((n) => retryDelayMs(exponential, n, () => random));
  expect(at(0)).toEqual([10_000, 18_000, 26_000, 42_000, 60_000]);
  expect(at(0.5)).toEqual([10_000, 20_000, 30_000, 50_000, 60_000]);
  expect(at(1)).toEqual([10_000, 22_000, 34_000, 58_000, 60_000]);
  expect(canRetry(exponential, 1_000)).toBe(true);
  expect(retryPolicyFrom(undefined)).toBeUndefined();
});

test('npm start reads where Azurite and the emulator should run from the connection settings', () => {
  expect(storageTarget('UseDevelopmentStorage=true')).toEqual({
    kind: 'azurite',
    host: '127.0.0.1',
    ports: { blob: 10000, queue: 10001, table: 10002 },
  });
  expect(
    storageTarget('DefaultEndpointsProtocol=http;BlobEndpoint=http://127.0.0.1:20000/devstoreaccount1;'),
  ).toMatchObject({
    kind: 'azurite',
    ports: { blob: 20000, queue: 10001, table: 10002 },
  });
  expect(storageTarget('DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=x;')).toEqual({
    kind: 'external',
  });
  expect(
    eventHubsTarget(
      'Endpoint=sb://localhost;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;',
    ),
  ).toEqual({
    kind: 'emulator',
    host: '127.0.0.1',
    amqpPort: 5672,
  });
  expect(eventHubsTarget('Endpoint=sb://localhost:5673;UseDevelopmentEmulator=true')).toMatchObject({
    amqpPort: 5673,
  });
  expect(
    eventHubsTarget('Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v'),
  ).toEqual({ kind: 'external' });
});
