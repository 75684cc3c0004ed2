import { EventHubProducerClient } from '@azure/event-hubs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createBlobServiceClient } from '../../src/lib/consume/deadLetter';
import { createProducerClient } from '../../src/lib/publish/eventHubClient';
import {
  readConsumerSettings,
  readEventHubSettings,
  readPublisherSettings,
  readStorageSettings,
  SETTING_NAMES,
  SettingsError,
  type Environment,
} from '../../src/lib/settings';

const KEY = 'c2VjcmV0LWtleS12YWx1ZQ==';
const CONNECTION = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${KEY}`;

function settingsError(read: () => unknown): SettingsError {
  try {
    read();
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

// The names users set (local.settings.json, infra/, docs/app.md): everything else refers to them
// through SETTING_NAMES, so this is where a rename would show.
test('the setting names are the documented ones', () => {
  expect(SETTING_NAMES).toEqual({
    eventHubConnection: 'EventHubConnection',
    storageConnection: 'AzureWebJobsStorage',
    eventHubName: 'EVENTHUB_NAME',
    consumerGroup: 'EVENTHUB_CONSUMER_GROUP',
    deadLetterContainer: 'DEAD_LETTER_CONTAINER',
    maxRequestBytes: 'MAX_REQUEST_BYTES',
    maxEventsPerRequest: 'MAX_EVENTS_PER_REQUEST',
    publishTimeoutMs: 'PUBLISH_TIMEOUT_MS',
    logBodyMaxChars: 'LOG_BODY_MAX_CHARS',
    consumerLagSchedule: 'CONSUMER_LAG_SCHEDULE',
  });
});

describe('Event Hubs settings', () => {
  test('a connection string plus EVENTHUB_NAME', () => {
    expect(readEventHubSettings({ EventHubConnection: CONNECTION, EVENTHUB_NAME: 'events' })).toEqual({
      kind: 'connectionString',
      connectionString: CONNECTION,
      eventHubName: 'events',
    });
  });

  test('the local emulator connection string of local.settings.example.json is valid', () => {
    const file = path.join(__dirname, '../../local.settings.example.json');
    const example = JSON.parse(readFileSync(file, 'utf8')) as { Values: Environment };
    expect(readEventHubSettings(example.Values)).toMatchObject({
      kind: 'connectionString',
      eventHubName: 'events',
    });
    expect(readConsumerSettings(example.Values)).toEqual({
      eventHubName: 'events',
      consumerGroup: 'processor',
      deadLetterContainer: 'dead-letter-events',
      logBodyMaxChars: 1024,
    });
    expect(readStorageSettings(example.Values)).toEqual({
      kind: 'connectionString',
      connectionString: 'UseDevelopmentStorage=true',
    });
  });

  test('a namespace with the default credential, a system-assigned or a user-assigned identity', () => {
    const base = {
      EVENTHUB_NAME: 'events',
      EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
    };
    expect(readEventHubSettings(base)).toEqual({
      kind: 'identity',
      fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      eventHubName: 'events',
      identity: { managedIdentity: false },
    });
    expect(
      readEventHubSettings({ ...base, EventHubConnection__credential: 'managedidentity' }),
    ).toMatchObject({
      identity: { managedIdentity: true },
    });
    expect(
      readEventHubSettings({
        ...base,
        EventHubConnection__credential: 'ManagedIdentity',
        EventHubConnection__clientId: '00000000-0000-0000-0000-000000000001',
      }),
    ).toMatchObject({
      identity: { managedIdentity: true, clientId: '00000000-0000-0000-0000-000000000001' },
    });
  });

  test.each<[string, Environment, string, string]>([
    ['no hub name', { EventHubConnection: CONNECTION }, 'EVENTHUB_NAME', 'EVENTHUB_NAME is not set'],
    [
      'blank hub name',
      { EventHubConnection: CONNECTION, EVENTHUB_NAME: '  ' },
      'EVENTHUB_NAME',
      'EVENTHUB_NAME is not set',
    ],
    [
      'no connection',
      { EVENTHUB_NAME: 'events' },
      'EventHubConnection',
      'EventHubConnection is not set (set it to a connection string, or set EventHubConnection__fullyQualifiedNamespace)',
    ],
    [
      'no Endpoint',
      { EVENTHUB_NAME: 'events', EventHubConnection: `SharedAccessKeyName=send;SharedAccessKey=${KEY}` },
      'EventHubConnection',
      'EventHubConnection is not a valid Event Hubs connection string (missing Endpoint)',
    ],
    [
      'an https Endpoint',
      {
        EVENTHUB_NAME: 'events',
        EventHubConnection: `Endpoint=https://ns/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`,
      },
      'EventHubConnection',
      'EventHubConnection is not a valid Event Hubs connection string (Endpoint must look like sb://<host>)',
    ],
    [
      'no key',
      { EVENTHUB_NAME: 'events', EventHubConnection: 'Endpoint=sb://ns/;SharedAccessKeyName=send' },
      'EventHubConnection',
      'EventHubConnection is not a valid Event Hubs connection string (missing SharedAccessKey)',
    ],
    [
      'not key=value pairs',
      { EVENTHUB_NAME: 'events', EventHubConnection: KEY.replace(/=/g, '') },
      'EventHubConnection',
      'EventHubConnection is not a valid Event Hubs connection string (expected Key=Value; pairs)',
    ],
    [
      'a different EntityPath',
      { EVENTHUB_NAME: 'events', EventHubConnection: `${CONNECTION};EntityPath=other` },
      'EventHubConnection',
      'EventHubConnection names a different event hub (EntityPath) than EVENTHUB_NAME; remove EntityPath or make them equal',
    ],
    [
      'a namespace URL instead of a host name',
      {
        EVENTHUB_NAME: 'events',
        EventHubConnection__fullyQualifiedNamespace: 'sb://ns.servicebus.windows.net/',
      },
      'EventHubConnection__fullyQualifiedNamespace',
      'EventHubConnection__fullyQualifiedNamespace must be a host name such as <namespace>.servicebus.windows.net (no scheme, no path)',
    ],
    [
      'an unknown credential',
      {
        EVENTHUB_NAME: 'events',
        EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
        EventHubConnection__credential: 'clientsecret',
      },
      'EventHubConnection__credential',
      'EventHubConnection__credential must be "managedidentity" when set',
    ],
    [
      'a client id without the credential',
      {
        EVENTHUB_NAME: 'events',
        EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
        EventHubConnection__clientId: 'abc',
      },
      'EventHubConnection__clientId',
      'EventHubConnection__clientId is set but EventHubConnection__credential is not; set EventHubConnection__credential=managedidentity to use a user-assigned identity',
    ],
  ])('%s fails naming the setting', (_case, env, setting, message) => {
    const error = settingsError(() => readEventHubSettings(env));
    expect(error.setting).toBe(setting);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain(KEY);
  });

  test('the producer client is built from either form, without connecting', async () => {
    const fromConnectionString = createProducerClient({
      EventHubConnection: CONNECTION,
      EVENTHUB_NAME: 'events',
    });
    expect(fromConnectionString).toBeInstanceOf(EventHubProducerClient);
    expect(fromConnectionString.eventHubName).toBe('events');
    expect(fromConnectionString.fullyQualifiedNamespace).toBe('ns.servicebus.windows.net');
    await fromConnectionString.close();
    const fromIdentity = createProducerClient({
      EventHubConnection__fullyQualifiedNamespace: 'other.servicebus.windows.net',
      EventHubConnection__credential: 'managedidentity',
      EVENTHUB_NAME: 'events',
    });
    expect(fromIdentity.fullyQualifiedNamespace).toBe('other.servicebus.windows.net');
    await fromIdentity.close();
  });

  test('an invalid connection string never reaches an error message', () => {
    const error = settingsError(() =>
      createProducerClient({
        EventHubConnection: `Endpoint=sb://ns/;SharedAccessSignature=x;SharedAccessKey=${KEY}`,
        EVENTHUB_NAME: 'e',
      }),
    );
    expect(error.message).toBe(
      'EventHubConnection is not a valid Event Hubs connection string (has both SharedAccessSignature and SharedAccessKey)',
    );
    expect(error.message).not.toContain(KEY);
  });
});

describe('storage settings (dead letters)', () => {
  test('a connection string, development storage, a service URI or an account name', () => {
    expect(readStorageSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' })).toMatchObject({
      kind: 'connectionString',
    });
    expect(
      readStorageSettings({
        AzureWebJobsStorage: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY}`,
      }),
    ).toMatchObject({ kind: 'connectionString' });
    expect(
      readStorageSettings({
        AzureWebJobsStorage__blobServiceUri: 'https://acct.blob.core.windows.net',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: 'id-1',
      }),
    ).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://acct.blob.core.windows.net',
      identity: { managedIdentity: true, clientId: 'id-1' },
    });
    expect(readStorageSettings({ AzureWebJobsStorage__accountName: 'acct' })).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://acct.blob.core.windows.net',
      identity: { managedIdentity: false },
    });
  });

  test.each<[Environment, string]>([
    [
      {},
      'AzureWebJobsStorage is not set (set it to a connection string, or set AzureWebJobsStorage__blobServiceUri or AzureWebJobsStorage__accountName)',
    ],
    [
      { AzureWebJobsStorage: `AccountKey=${KEY}` },
      'AzureWebJobsStorage is not a valid Azure Storage connection string (missing AccountName or BlobEndpoint)',
    ],
    [
      { AzureWebJobsStorage__accountName: 'Not_Valid' },
      'AzureWebJobsStorage__accountName must be 3-24 lowercase letters and digits',
    ],
    [
      { AzureWebJobsStorage__blobServiceUri: 'acct.blob.core.windows.net' },
      'AzureWebJobsStorage__blobServiceUri must be a URL such as https://<account>.blob.core.windows.net',
    ],
  ])('%j fails naming the setting', (env, message) => {
    const error = settingsError(() => createBlobServiceClient(env));
    expect(error.message).toBe(message);
    expect(error.message).not.toContain(KEY);
  });
});

describe('publisher and consumer settings', () => {
  test('defaults', () => {
    // 4 MiB holds several full 1 MB batches; 10,000 events bound the time spent packing one request.
    expect(readPublisherSettings({})).toEqual({
      maxRequestBytes: 4194304,
      maxEventsPerRequest: 10000,
      publishTimeoutMs: 10000,
    });
  });

  test('overrides', () => {
    expect(
      readPublisherSettings({
        MAX_REQUEST_BYTES: '2048',
        MAX_EVENTS_PER_REQUEST: '50',
        PUBLISH_TIMEOUT_MS: '500',
      }),
    ).toEqual({ maxRequestBytes: 2048, maxEventsPerRequest: 50, publishTimeoutMs: 500 });
    expect(
      readConsumerSettings({
        EVENTHUB_NAME: 'e',
        EVENTHUB_CONSUMER_GROUP: 'g',
        DEAD_LETTER_CONTAINER: 'failed-events',
        LOG_BODY_MAX_CHARS: '10',
      }),
    ).toEqual({
      eventHubName: 'e',
      consumerGroup: 'g',
      deadLetterContainer: 'failed-events',
      logBodyMaxChars: 10,
    });
  });

  test.each([
    [{ MAX_REQUEST_BYTES: '1MB' }, 'MAX_REQUEST_BYTES must be a positive integer'],
    [{ MAX_REQUEST_BYTES: '0' }, 'MAX_REQUEST_BYTES must be a positive integer'],
    [{ PUBLISH_TIMEOUT_MS: '-1' }, 'PUBLISH_TIMEOUT_MS must be a positive integer'],
    [{ MAX_EVENTS_PER_REQUEST: 'all' }, 'MAX_EVENTS_PER_REQUEST must be a positive integer'],
  ])('%j fails naming the setting', (env, message) => {
    expect(settingsError(() => readPublisherSettings(env)).message).toBe(message);
  });

  test.each([
    [{ EVENTHUB_NAME: 'e' }, 'EVENTHUB_CONSUMER_GROUP is not set'],
    [
      { EVENTHUB_NAME: 'e', EVENTHUB_CONSUMER_GROUP: 'g', DEAD_LETTER_CONTAINER: 'Dead_Letters' },
      'DEAD_LETTER_CONTAINER must be a valid blob container name (3-63 lowercase letters, digits and single hyphens)',
    ],
    [
      { EVENTHUB_NAME: 'e', EVENTHUB_CONSUMER_GROUP: 'g', DEAD_LETTER_CONTAINER: 'a--b' },
      'DEAD_LETTER_CONTAINER must be a valid blob container name (3-63 lowercase letters, digits and single hyphens)',
    ],
    [
      { EVENTHUB_NAME: 'e', EVENTHUB_CONSUMER_GROUP: 'g', LOG_BODY_MAX_CHARS: 'lots' },
      'LOG_BODY_MAX_CHARS must be a positive integer',
    ],
  ])('%j fails naming the setting', (env, message) => {
    expect(settingsError(() => readConsumerSettings(env)).message).toBe(message);
  });
});
