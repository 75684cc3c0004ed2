// The local Functions host's Event Hubs trigger as a user runs it (`tsx local/host/cli.ts`), against a
// small fixture app (test/e2e/fixtures/hostApp), Azurite and the Event Hubs emulator: trigger inputs
// and metadata in the host's shapes, retries, checkpoints at the host's blob path, and partitions
// shared by two hosts.
import { type EventData, type SendBatchOptions } from '@azure/event-hubs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readRecords } from '../../local/host/recorder';
import { startHostProcess, type HostProcess } from '../../local/stack/processes';
import { type Backends, listBlobs, writeHostJson, writeSettings } from './support/backends';
import {
  CONSUMER_GROUP,
  FIXTURE_APP_ROOT as APP_ROOT,
  fixtureSettings,
  sendBatches,
  startFixtureHost,
  stopFixtureHost,
} from './support/hostFixture';
import { waitFor } from '../support/waitFor';
import { SETTING_NAMES } from '../../src/lib/settings';
import { CHECKPOINT_CONTAINER } from '../../src/lib/consume/checkpoints';

jest.setTimeout(120_000);

let backends: Backends;
let host: HostProcess;
let recordFile: string;
const settings = (name: string, hub: string) => fixtureSettings(backends, name, hub);
const send = (hub: string, batches: [EventData[], SendBatchOptions?][]) =>
  sendBatches(backends, hub, batches);

beforeAll(async () => {
  ({ backends, host, recordFile } = await startFixtureHost());
});

afterAll(async () => {
  await stopFixtureHost({ host, backends });
});

describe('Event Hubs trigger', () => {
  test('dataType string: UTF-8 strings (JSON-parsed by the library), empty ones dropped, metadata as extension 6.x sends it', async () => {
    await send('fixture', [
      [
        [
          { body: Buffer.from('{"id":1,"nested":{"Key":"v"}}') },
          { body: Buffer.from('plain text'), properties: { Color: 'red', count: 5 } },
          { body: Buffer.from('') },
          { body: Buffer.from('42') },
        ],
        { partitionId: '0' },
      ],
    ]);
    // One AMQP batch normally arrives as one invocation; merge in case the receiver split it.
    type Metadata = Record<string, unknown> & { partitionContext: { partitionId: string } };
    const records = await waitFor(
      () => {
        const found = readRecords(recordFile).filter(
          (r) =>
            r.functionName === 'consume' &&
            r.succeeded &&
            (r.triggerMetadata as Metadata).partitionContext.partitionId === '0',
        );
        return found.flatMap(
          (r) => (r.triggerMetadata as { sequenceNumberArray: number[] }).sequenceNumberArray,
        ).length >= 4
          ? found
          : undefined;
      },
      { what: 'the consume invocations of partition 0', timeoutMs: 30_000 },
    );
    const merged = (key: string) =>
      records.flatMap((r) => (r.triggerMetadata as Record<string, unknown[]>)[key]);
    expect(records.flatMap((r) => r.inputs[0] as unknown[])).toEqual([
      { id: 1, nested: { Key: 'v' } },
      'plain text',
      42,
    ]);
    const metadata: Record<string, unknown> = {
      ...(records[0].triggerMetadata as Metadata),
      sequenceNumberArray: merged('sequenceNumberArray'),
      offsetArray: merged('offsetArray'),
      offsetStringArray: merged('offsetStringArray'),
      partitionKeyArray: merged('partitionKeyArray'),
      propertiesArray: merged('propertiesArray'),
      enqueuedTimeUtcArray: merged('enqueuedTimeUtcArray'),
      systemPropertiesArray: merged('systemPropertiesArray'),
    };
    expect(metadata.partitionContext).toEqual({
      fullyQualifiedNamespace: '127.0.0.1',
      eventHubName: 'fixture',
      consumerGroup: CONSUMER_GROUP,
      partitionId: '0',
      isCheckpointingAfterInvocation: true,
    });
    expect(metadata.triggerPartitionContext).toEqual(metadata.partitionContext);
    expect(metadata.sequenceNumberArray).toEqual([0, 1, 2, 3]);
    expect((metadata.offsetArray as unknown[]).length).toBe(4);
    expect(merged('offsetStringArray')).toEqual(metadata.offsetArray);
    expect(metadata.partitionKeyArray).toEqual([]);
    expect(metadata.propertiesArray).toEqual([{}, { color: 'red', count: 5 }, {}, {}]);
    const enqueued = metadata.enqueuedTimeUtcArray as string[];
    expect(enqueued.every((time) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/.test(time))).toBe(true);
    const system = (metadata.systemPropertiesArray as Record<string, unknown>[])[1];
    expect(system).toMatchObject({ 'x-opt-sequence-number': 1, sequenceNumber: 1, partitionKey: null });
    expect(system['x-opt-enqueued-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
    // The host never sends its `sys` binding data (ScriptInvocationContextExtensions.ShouldSkipBindingData).
    expect(metadata).not.toHaveProperty('sys');

    const checkpoint = await waitFor(
      async () =>
        (await listBlobs(backends.blobService, CHECKPOINT_CONTAINER)).find(
          (blob) =>
            blob.name === `127.0.0.1/fixture/${CONSUMER_GROUP}/checkpoint/0` &&
            blob.metadata.sequencenumber === '3',
        ),
      { what: 'the checkpoint of partition 0', timeoutMs: 10_000 },
    );
    expect(checkpoint.metadata.offset).toBe(String((metadata.offsetArray as unknown[])[3]));
    await host.child.waitForLine(
      /Trigger Details: PartionId: 0, Offset: \d+-\d+, EnqueueTimeUtc: \S+, SequenceNumber: 0-\d, Count: \d/,
      5_000,
    );
  });

  test('a failing invocation is retried per the retry policy with retryContext, then checkpointed', async () => {
    await send('fixture', [
      [[{ body: Buffer.from('"retry me"'), properties: { failAttempts: 2 } }], { partitionId: '1' }],
    ]);
    const attempts = await waitFor(
      () => {
        const found = readRecords(recordFile).filter((r) => JSON.stringify(r.inputs) === '[["retry me"]]');
        return found.some((r) => r.succeeded) ? found : undefined;
      },
      { what: 'the retried invocation to succeed', timeoutMs: 30_000 },
    );
    expect(attempts.map((r) => [r.retryCount, r.succeeded, r.error ?? null])).toEqual([
      [0, false, 'failing attempt 0'],
      [1, false, 'failing attempt 1'],
      [2, true, null],
    ]);
    await host.child.waitForLine(
      /Waiting for `00:00:00` before retrying function execution\. Next attempt: '1'\. Max retry count: '3'\./,
      5_000,
    );

    // Retries exhausted: the host moves on and still checkpoints past the batch.
    await send('fixture', [
      [[{ body: Buffer.from('"always fails"'), properties: { failAttempts: 99 } }], { partitionId: '1' }],
    ]);
    const failures = await waitFor(
      () => {
        const found = readRecords(recordFile).filter(
          (r) => JSON.stringify(r.inputs) === '[["always fails"]]',
        );
        return found.length === 4 ? found : undefined;
      },
      { what: 'four failed attempts', timeoutMs: 30_000 },
    );
    expect(failures.map((r) => r.retryCount)).toEqual([0, 1, 2, 3]);
    await waitFor(
      async () =>
        (await listBlobs(backends.blobService, CHECKPOINT_CONTAINER)).find(
          (blob) =>
            blob.name === `127.0.0.1/fixture/${CONSUMER_GROUP}/checkpoint/1` &&
            blob.metadata.sequencenumber === '1',
        ),
      { what: 'the checkpoint past the failed batch', timeoutMs: 10_000 },
    );
  });

  test('no dataType: Newtonsoft binds object[]; one plain-text body fails the binding, the handler is not called, retries fail alike, then the host checkpoints past the batch', async () => {
    await send('objects', [
      [
        [
          {
            body: Buffer.from('{"at":"2024-01-02T03:04:05.000Z","n":1.50}'),
            contentType: 'application/json',
          },
          { body: Buffer.from('plain text'), contentType: 'text/plain' },
        ],
        { partitionId: '0' },
      ],
    ]);
    const attempts = await waitFor(
      () => {
        const found = readRecords(recordFile).filter((r) => r.functionName === 'consumeObjects');
        return found.length >= 3 ? found : undefined;
      },
      { what: 'three failed consumeObjects attempts', timeoutMs: 30_000 },
    );
    expect(attempts.map((r) => [r.succeeded, r.retryCount, r.inputs])).toEqual([
      [false, 0, []],
      [false, 1, []],
      [false, 2, []],
    ]);
    expect(attempts[0].error).toMatch(
      /^Microsoft\.Azure\.WebJobs\.Host: Exception binding parameter 'eventHubTrigger\w+'\. Microsoft\.Azure\.WebJobs\.Host: Binding parameters to complex objects \(such as 'Object'\) uses Json\.NET serialization\./,
    );
    await host.child.waitForLine(
      /^\[\S+\] System\.Private\.CoreLib: Exception while executing function: Functions\.consumeObjects\. Microsoft\.Azure\.WebJobs\.Host: Exception binding parameter/,
      5_000,
    );
    expect(host.child.lines).toContain(
      "2. Change the queue payload to be valid json. The JSON parser failed: Unexpected character encountered while parsing value: p. Path '', line 0, position 0.",
    );
    await host.child.waitForLine(/Function execution failed after '2' retries\./, 5_000);
    expect(host.child.lines.some((line) => line.includes('consumeObjects got'))).toBe(false);
    // Like the extension: the batch is checkpointed "regardless of function success/failure".
    await waitFor(
      async () =>
        (await listBlobs(backends.blobService, CHECKPOINT_CONTAINER)).find(
          (blob) =>
            blob.name === `127.0.0.1/objects/${CONSUMER_GROUP}/checkpoint/0` &&
            blob.metadata.sequencenumber === '1',
        ),
      { what: 'the checkpoint past the batch that could not be bound', timeoutMs: 10_000 },
    );

    // JSON alone binds: Newtonsoft's round trip rewrites the date and keeps the number's value.
    await send('objects', [
      [
        [{ body: Buffer.from('{"at":"2024-01-02T03:04:05.000Z","n":1.50}') }, { body: Buffer.alloc(0) }],
        { partitionId: '0' },
      ],
    ]);
    const bound = await waitFor(
      () => readRecords(recordFile).find((r) => r.functionName === 'consumeObjects' && r.succeeded),
      { what: 'a consumeObjects invocation that binds', timeoutMs: 30_000 },
    );
    expect(bound.inputs[0]).toEqual([{ at: '2024-01-02T03:04:05Z', n: 1.5 }, null]);
  });

  test('dataType binary: every body byte for byte, empty ones kept, content types in systemPropertiesArray', async () => {
    const bodies = [
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00]),
      Buffer.alloc(0),
      Buffer.from('{"a":1}'),
    ];
    await send('bytes', [
      [
        [
          { body: bodies[0], contentType: 'application/octet-stream' },
          { body: bodies[1] },
          { body: bodies[2], contentType: 'application/json' },
        ],
        { partitionId: '0' },
      ],
    ]);
    const record = await waitFor(
      () => readRecords(recordFile).find((r) => r.functionName === 'consumeBytes'),
      { what: 'the consumeBytes invocation', timeoutMs: 30_000 },
    );
    const delivered = (record.inputs[0] as { $bytes: string }[]).map((b) => Buffer.from(b.$bytes, 'base64'));
    expect(delivered).toEqual(bodies);
    const system = (record.triggerMetadata as { systemPropertiesArray: Record<string, unknown>[] })
      .systemPropertiesArray;
    expect(system.map((p) => p['content-type'] ?? null)).toEqual([
      'application/octet-stream',
      null,
      'application/json',
    ]);
  });

  test('host storage that refuses the host is named without the SAS token of its connection string', async () => {
    const storage: Server = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed' });
      res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code></Error>');
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const { port } = storage.address() as AddressInfo;
    const secret = 'sig=NotARealSignature%3D';
    const settingsFile = writeSettings(backends.dir, 'sas', {
      [SETTING_NAMES.storageConnection]: `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;SharedAccessSignature=sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&${secret}`,
      [SETTING_NAMES.eventHubConnection]: backends.eventHubsConnectionString,
      FIXTURE_HUB: 'fixture',
      FIXTURE_CONSUMER_GROUP: CONSUMER_GROUP,
    });
    const lines: string[] = [];
    try {
      await expect(
        startHostProcess({
          appRoot: APP_ROOT,
          port: 0,
          settingsFile,
          functions: ['consume'],
          child: { onLine: (line) => lines.push(line) },
        }),
      ).rejects.toThrow(/exited/);
    } finally {
      storage.closeAllConnections();
      await new Promise((resolve) => storage.close(resolve));
    }
    expect(lines).toContainEqual(
      expect.stringContaining(
        `Cannot reach the host storage (AzureWebJobsStorage) at http://127.0.0.1:${port}/devstoreaccount1/azure-webjobs-eventhub:`,
      ),
    );
    expect(lines.filter((line) => /sig=|sv=2022/.test(line))).toEqual([]);
  });

  test('two hosts share the partitions through blob ownership and each event is processed once', async () => {
    const hostJson = writeHostJson(backends.dir, 'balance', {
      version: '2.0',
      extensions: { eventHubs: { maxEventBatchSize: 5 } },
    });
    const common = {
      appRoot: APP_ROOT,
      port: 0,
      settingsFile: settings('balance', 'balance'),
      hostJsonFile: hostJson,
      functions: ['consume'],
      loadBalancingIntervalMs: 500,
      ownershipExpirationMs: 5_000,
    };
    const recordsA = path.join(backends.dir, 'balance-a.ndjson');
    const recordsB = path.join(backends.dir, 'balance-b.ndjson');
    const first = await startHostProcess({ ...common, recordFile: recordsA });
    const second = await startHostProcess({ ...common, recordFile: recordsB });
    try {
      const owners = await waitFor(
        async () => {
          const blobs = await listBlobs(backends.blobService, CHECKPOINT_CONTAINER);
          const owned = blobs.filter((b) =>
            b.name.startsWith(`127.0.0.1/balance/${CONSUMER_GROUP}/ownership/`),
          );
          const byOwner = new Map<string, number>();
          for (const blob of owned)
            byOwner.set(blob.metadata.ownerid, (byOwner.get(blob.metadata.ownerid) ?? 0) + 1);
          const counts = [...byOwner.values()].sort();
          return owned.length === 4 && counts.join() === '2,2' ? byOwner : undefined;
        },
        { what: 'each host to own two partitions', timeoutMs: 30_000 },
      );
      expect(owners.size).toBe(2);

      const total = 40;
      await send(
        'balance',
        [0, 1, 2, 3].map((partition) => [
          Array.from({ length: total / 4 }, (_, i) => ({
            body: Buffer.from(JSON.stringify({ n: partition * 10 + i })),
          })),
          { partitionId: String(partition) },
        ]),
      );
      const seen = await waitFor(
        () => {
          const all = [...readRecords(recordsA), ...readRecords(recordsB)].flatMap(
            (r) => r.inputs[0] as { n: number }[],
          );
          return all.length >= total ? all : undefined;
        },
        { what: 'all events processed by the two hosts', timeoutMs: 30_000 },
      );
      expect(seen.map((e) => e.n).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));

      const partitionsOf = (file: string) =>
        new Set(
          readRecords(file).map(
            (r) =>
              (r.triggerMetadata as { partitionContext: { partitionId: string } }).partitionContext
                .partitionId,
          ),
        );
      const a = partitionsOf(recordsA);
      const b = partitionsOf(recordsB);
      expect(a.size).toBeGreaterThan(0);
      expect(b.size).toBeGreaterThan(0);
      expect([...a].filter((p) => b.has(p))).toEqual([]);
      const batchSizes = [...readRecords(recordsA), ...readRecords(recordsB)].map(
        (r) => (r.inputs[0] as unknown[]).length,
      );
      expect(Math.max(...batchSizes)).toBeLessThanOrEqual(5);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});
