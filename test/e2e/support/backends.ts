// What an end-to-end test runs against: Azurite and the Event Hubs emulator as real child processes
// on random ports, plus helpers to write settings and list blobs.
import { BlobServiceClient } from '@azure/storage-blob';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAzurite } from '../../../local/azurite';
import { startEmulatorProcess } from '../../../local/stack/processes';

export interface HubSpec {
  name: string;
  partitions: number;
  consumerGroups: string[];
}

export interface Backends {
  dir: string;
  storageConnectionString: string;
  eventHubsConnectionString: string;
  blobService: BlobServiceClient;
  stop(): Promise<void>;
}

export async function startBackends(hubs: HubSpec[]): Promise<Backends> {
  const dir = mkdtempSync(path.join(tmpdir(), 'e2e-'));
  const configFile = path.join(dir, 'eventhubs-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      UserConfig: {
        NamespaceConfig: [
          {
            Type: 'EventHub',
            Name: 'emulatorNs1',
            Entities: hubs.map((hub) => ({
              Name: hub.name,
              PartitionCount: String(hub.partitions),
              ConsumerGroups: hub.consumerGroups.map((name) => ({ Name: name })),
            })),
          },
        ],
      },
      LoggingConfig: { Type: 'File' },
    }),
  );
  const azurite = await startAzurite({
    location: path.join(dir, 'azurite'),
    blobPort: 0,
    queuePort: 0,
    tablePort: 0,
  });
  let emulator;
  try {
    emulator = await startEmulatorProcess({ amqpPort: 0, healthPort: 0, configFile });
  } catch (error) {
    await azurite.stop();
    throw error;
  }
  return {
    dir,
    storageConnectionString: azurite.connectionString,
    eventHubsConnectionString: emulator.connectionString,
    blobService: BlobServiceClient.fromConnectionString(azurite.connectionString),
    stop: async () => {
      await Promise.all([emulator.stop(), azurite.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a local.settings.json-shaped file and returns its path. */
export function writeSettings(dir: string, name: string, values: Record<string, string>): string {
  const file = path.join(dir, `${name}.settings.json`);
  writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: values }, null, 2));
  return file;
}

/** Writes a host.json variant and returns its path. */
export function writeHostJson(dir: string, name: string, hostJson: object): string {
  const file = path.join(dir, `${name}.host.json`);
  writeFileSync(file, JSON.stringify(hostJson, null, 2));
  return file;
}

export async function listBlobs(
  blobService: BlobServiceClient,
  container: string,
): Promise<{ name: string; metadata: Record<string, string> }[]> {
  const client = blobService.getContainerClient(container);
  if (!(await client.exists())) return [];
  const blobs = [];
  for await (const blob of client.listBlobsFlat({ includeMetadata: true })) {
    blobs.push({ name: blob.name, metadata: blob.metadata ?? {} });
  }
  return blobs;
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
