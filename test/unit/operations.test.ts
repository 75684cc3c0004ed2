// The operator tools' pieces that need no server: where they connect (local.settings.json, the
// environment, --namespace / --storage-account) and what a replay publishes for a dead letter.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { deadLetterDocument, parseDeadLetterDocument } from '../../src/lib/consume/deadLetter';
import { readEventHubSettings, readStorageSettings, SETTING_NAMES } from '../../src/lib/settings';
import { replayEvent } from '../../scripts/lib/deadLetters';
import { operationsEnvironment } from '../../scripts/lib/operations';
import { tempDir } from '../support/tempDir';

const settingsFile = path.join(tempDir('ops').path, 'local.settings.json');
writeFileSync(
  settingsFile,
  JSON.stringify({
    Values: {
      [SETTING_NAMES.storageConnection]: 'UseDevelopmentStorage=true',
      [SETTING_NAMES.eventHubConnection]:
        'Endpoint=sb://localhost;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
      [SETTING_NAMES.eventHubName]: 'events',
      [SETTING_NAMES.consumerGroup]: 'processor',
    },
  }),
);

test('by default the local stack of local.settings.json', () => {
  const env = operationsEnvironment({ settingsFile, env: {} });
  expect(readEventHubSettings(env).kind).toBe('connectionString');
  expect(readStorageSettings(env)).toEqual({
    kind: 'connectionString',
    connectionString: 'UseDevelopmentStorage=true',
  });
});

test('--namespace and --storage-account: identity-based with DefaultAzureCredential, names kept from the file', () => {
  const env = operationsEnvironment({
    settingsFile,
    env: {},
    namespace: 'evhns-demo',
    storageAccount: 'stdemo01',
  });
  expect(readEventHubSettings(env)).toEqual({
    kind: 'identity',
    fullyQualifiedNamespace: 'evhns-demo.servicebus.windows.net',
    eventHubName: 'events',
    identity: { managedIdentity: false },
  });
  expect(readStorageSettings(env)).toEqual({
    kind: 'identity',
    blobServiceUri: 'https://stdemo01.blob.core.windows.net',
    identity: { managedIdentity: false },
  });
});

test("a connection in the environment replaces the file's whole connection; names from the environment win", () => {
  const env = operationsEnvironment({
    settingsFile,
    env: {
      EventHubConnection__fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
      [SETTING_NAMES.eventHubName]: 'other',
    },
    consumerGroup: 'audit',
  });
  expect(readEventHubSettings(env)).toMatchObject({ kind: 'identity', eventHubName: 'other' });
  expect(env.EventHubConnection).toBeUndefined();
  expect(env.EVENTHUB_CONSUMER_GROUP).toBe('audit');
});

test('a replay publishes the exact body, content type and properties, with x-replay-of and Diagnostic-Id restored', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const stored = deadLetterDocument({
    eventHubName: 'events',
    consumerGroup: 'processor',
    batchIndex: 0,
    batchFirstSequenceNumber: 7,
    batchLastSequenceNumber: 7,
    event: {
      partitionId: '2',
      sequenceNumber: 7,
      offset: '700',
      enqueuedTimeUtc: null,
      partitionKey: 'device-1',
      // As the host hands them over: Diagnostic-Id with its first letter lower-cased.
      properties: { poison: true, traceparent, 'diagnostic-Id': traceparent },
      contentType: 'application/octet-stream',
      rawBody: Buffer.from([0xff, 0x00, 0x01]),
    },
    error: 'boom',
    invocationId: 'i',
    failedAtUtc: '2026-01-01T00:00:00.000Z',
  });
  const document = parseDeadLetterDocument(JSON.stringify(stored));
  expect(document).toEqual(stored);
  const event = replayEvent(document, Buffer.from(document.body, document.bodyEncoding));
  expect(event).toEqual({
    body: Buffer.from([0xff, 0x00, 0x01]),
    contentType: 'application/octet-stream',
    properties: { poison: true, traceparent, 'Diagnostic-Id': traceparent, 'x-replay-of': '2/7' },
  });
});

test.each([['{}'], ['{"eventHubName":"e"}'], ['[1]'], ['not json']])('%s is not a dead letter', (text) => {
  expect(() => parseDeadLetterDocument(text)).toThrow();
});
