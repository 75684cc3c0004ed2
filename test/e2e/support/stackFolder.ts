// A throwaway app folder for `npm start` (local/stack) whose local.settings.example.json points
// Azurite and the Event Hubs emulator at free ports, so that a test stack never meets the default
// ones (or another engineer's stack).
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME } from '../../../local/azurite';
import { REPO_ROOT } from '../../../local/stack/childProcess';
import { tempDir } from '../../support/tempDir';

export interface StackPorts {
  blob: number;
  queue: number;
  table: number;
  amqp: number;
  health: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function freeStackPorts(): Promise<StackPorts> {
  return {
    blob: await freePort(),
    queue: await freePort(),
    table: await freePort(),
    amqp: await freePort(),
    health: await freePort(),
  };
}

export function stackFolder(ports: StackPorts): string {
  const dir = tempDir('stack').path;
  for (const entry of ['package.json', 'host.json', 'dist', 'node_modules']) {
    symlinkSync(path.join(REPO_ROOT, entry), path.join(dir, entry));
  }
  const settings = JSON.parse(readFileSync(path.join(REPO_ROOT, 'local.settings.example.json'), 'utf8'));
  const account = DEV_ACCOUNT_NAME;
  settings.Values.AzureWebJobsStorage =
    `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${DEV_ACCOUNT_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${ports.blob}/${account};QueueEndpoint=http://127.0.0.1:${ports.queue}/${account};` +
    `TableEndpoint=http://127.0.0.1:${ports.table}/${account};`;
  settings.Values.EventHubConnection = settings.Values.EventHubConnection.replace(
    'Endpoint=sb://localhost;',
    `Endpoint=sb://localhost:${ports.amqp};`,
  );
  writeFileSync(path.join(dir, 'local.settings.example.json'), JSON.stringify(settings, null, 2));
  return dir;
}
