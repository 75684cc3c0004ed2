// What an end-to-end test runs against: Azurite and the Event Hubs emulator as real child processes
// on random ports, plus helpers to write settings and list blobs.
import { BlobServiceClient } from '@azure/storage-blob';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite } from '../../../local/azurite';
import { type HubSpec, startTestEmulator } from '../../support/emulator';
import { tempDir } from '../../support/tempDir';

export interface Backends {
  dir: string;
  storageConnectionString: string;
  eventHubsConnectionString: string;
  blobService: BlobServiceClient;
  stop(): Promise<void>;
}

export async function startBackends(hubs: HubSpec[]): Promise<Backends> {
  const dir = tempDir('e2e');
  const azurite = await startAzurite({
    location: path.join(dir.path, 'azurite'),
    blobPort: 0,
    queuePort: 0,
    tablePort: 0,
  });
  let emulator;
  try {
    emulator = await startTestEmulator(hubs, dir.path);
  } catch (error) {
    await azurite.stop();
    throw error;
  }
  return {
    dir: dir.path,
    storageConnectionString: azurite.connectionString,
    eventHubsConnectionString: emulator.connectionString,
    blobService: BlobServiceClient.fromConnectionString(azurite.connectionString),
    stop: async () => {
      await Promise.all([emulator.stop(), azurite.stop()]);
      dir.remove();
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
