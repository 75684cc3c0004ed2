// Dead-lettering for real: the consumer's exported handler (sample event handler, shared blob store)
// against Azurite over real sockets, invoked with the trigger data the Functions host delivers.
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../../local/azurite';
import { processEvents } from '../../../src/functions/processEvents';
import { capturingContext } from '../../unit/support/invocation';
import { type TempDir, tempDir } from '../../support/tempDir';
import { SETTING_NAMES } from '../../../src/lib/settings';

const CONTAINER = `dead-letters-${process.pid}`;
let azurite: RunningAzurite | undefined;
let dataDir: TempDir;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dataDir = tempDir('app-dead-letter');
  azurite = await startAzurite({ location: dataDir.path, blobPort: 0, queuePort: 0, tablePort: 0 });
  Object.assign(process.env, {
    [SETTING_NAMES.storageConnection]: azurite.connectionString,
    [SETTING_NAMES.eventHubName]: 'events',
    [SETTING_NAMES.consumerGroup]: 'processor',
    [SETTING_NAMES.deadLetterContainer]: CONTAINER,
  });
});

afterAll(async () => {
  await azurite?.stop();
  process.env = savedEnv;
  dataDir.remove();
});

/** What the host sends for dataType binary, every event published as application/json. */
function hostTrigger(count: number, properties: Record<string, unknown>[]) {
  return {
    partitionContext: {
      fullyQualifiedNamespace: '127.0.0.1',
      eventHubName: 'events',
      consumerGroup: 'processor',
      partitionId: '2',
      isCheckpointingAfterInvocation: true,
    },
    sequenceNumberArray: Array.from({ length: count }, (_, i) => 300 + i),
    offsetArray: Array.from({ length: count }, (_, i) => String(9000 + i)),
    partitionKeyArray: Array.from({ length: count }, () => 'device-9'),
    enqueuedTimeUtcArray: Array.from({ length: count }, () => '2024-05-06T07:08:09.123'),
    propertiesArray: properties,
    systemPropertiesArray: Array.from({ length: count }, () => ({ 'content-type': 'application/json' })),
  };
}

async function listBlobs(): Promise<string[]> {
  const service = BlobServiceClient.fromConnectionString(
    process.env[SETTING_NAMES.storageConnection] as string,
  );
  const names: string[] = [];
  for await (const blob of service.getContainerClient(CONTAINER).listBlobsFlat()) names.push(blob.name);
  return names;
}

test('a failing event becomes a blob with its body and coordinates; the rest of the batch is processed', async () => {
  const { context, logs } = capturingContext({
    triggerMetadata: hostTrigger(3, [{}, { poison: true, source: 'curl' }, {}]),
  });
  const bodies = [
    '{"n":0}',
    '{"n": 1, "payload": "kept for replay", "big": 12345678901234567890}',
    '{"n":2}',
  ];
  await processEvents(
    bodies.map((body) => Buffer.from(body)),
    context,
  );

  expect(logs.map((log) => log.message.split(' ')[0])).toEqual([
    'EventProcessed',
    'EventFailed',
    'EventProcessed',
    'BatchProcessed',
  ]);
  const failed = JSON.parse(logs[1].message.slice('EventFailed '.length));
  expect(failed.deadLetterBlob).toBe(`${CONTAINER}/events/processor/2/301.json`);

  expect(await listBlobs()).toEqual(['events/processor/2/301.json']);
  const service = BlobServiceClient.fromConnectionString(
    process.env[SETTING_NAMES.storageConnection] as string,
  );
  const blob = service.getContainerClient(CONTAINER).getBlobClient('events/processor/2/301.json');
  const properties = await blob.getProperties();
  expect(properties.contentType).toBe('application/json');
  const document = JSON.parse((await blob.downloadToBuffer()).toString('utf8'));
  expect(document).toEqual({
    eventHubName: 'events',
    consumerGroup: 'processor',
    partitionId: '2',
    sequenceNumber: 301,
    offset: '9001',
    enqueuedTimeUtc: '2024-05-06T07:08:09.123Z',
    partitionKey: 'device-9',
    properties: { poison: true, source: 'curl' },
    contentType: 'application/json',
    bodyEncoding: 'utf8',
    body: bodies[1],
    error: 'Sample handler: event is marked as poison (application property poison=true)',
    failedAtUtc: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    invocationId: 'test-invocation',
  });
});

test('a redelivered batch overwrites its dead letters instead of duplicating them', async () => {
  const { context } = capturingContext({ triggerMetadata: hostTrigger(3, [{}, { poison: true }, {}]) });
  await processEvents(
    ['{"n":0}', '{"n":1,"redelivered":true}', '{"n":2}'].map((b) => Buffer.from(b)),
    context,
  );
  expect(await listBlobs()).toEqual(['events/processor/2/301.json']);
  // The blob is the redelivery's, not the first delivery's.
  const service = BlobServiceClient.fromConnectionString(
    process.env[SETTING_NAMES.storageConnection] as string,
  );
  const blob = service.getContainerClient(CONTAINER).getBlobClient('events/processor/2/301.json');
  const document = JSON.parse((await blob.downloadToBuffer()).toString('utf8'));
  expect(document).toMatchObject({ sequenceNumber: 301, body: '{"n":1,"redelivered":true}' });
  expect(document.properties).toEqual({ poison: true });
});

test('a binary body (dataType binary delivers Buffers) is dead-lettered byte for byte', async () => {
  const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f, 0xc3]);
  const metadata = {
    ...hostTrigger(1, [{ poison: true }]),
    systemPropertiesArray: [{ 'content-type': 'application/octet-stream' }],
  };
  const { context } = capturingContext({ triggerMetadata: metadata });
  await processEvents([bytes], context);
  const service = BlobServiceClient.fromConnectionString(
    process.env[SETTING_NAMES.storageConnection] as string,
  );
  const blob = service.getContainerClient(CONTAINER).getBlobClient('events/processor/2/300.json');
  const document = JSON.parse((await blob.downloadToBuffer()).toString('utf8'));
  expect(document).toMatchObject({ bodyEncoding: 'base64', contentType: 'application/octet-stream' });
  expect(Buffer.compare(Buffer.from(document.body, 'base64'), bytes)).toBe(0);
});

test('a dead-letter container deleted while the app runs is created again', async () => {
  const service = BlobServiceClient.fromConnectionString(
    process.env[SETTING_NAMES.storageConnection] as string,
  );
  await service.getContainerClient(CONTAINER).delete();
  const { context } = capturingContext({ triggerMetadata: hostTrigger(1, [{ poison: true }]) });
  await processEvents([Buffer.from('{"n":0}')], context);
  expect(await listBlobs()).toEqual(['events/processor/2/300.json']);
});

test('when storage is down the invocation throws (the retry policy takes over) and nothing is logged as dead-lettered', async () => {
  await azurite?.stop();
  azurite = undefined;
  const { context, logs } = capturingContext({
    triggerMetadata: hostTrigger(2, [{ poison: true }, {}]),
    retryCount: 0,
  });
  // The storage client's short retry policy (3 tries) ends this well inside jest's test timeout; its
  // multi-minute defaults would not.
  await expect(processEvents([Buffer.from('{"n":0}'), Buffer.from('{"n":1}')], context)).rejects.toThrow(
    'Dead-lettering event 2/300 failed: RestError',
  );
  expect(logs.map((log) => log.message.split(' ')[0])).toEqual(['DeadLetterFailed', 'BatchFailed']);
  expect(JSON.parse(logs[0].message.slice('DeadLetterFailed '.length))).toMatchObject({
    partitionId: '2',
    sequenceNumber: 300,
    retryCount: 0,
  });
  expect(logs[0].message).not.toContain('AccountKey=');
});
