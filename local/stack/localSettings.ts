// What `npm start` reads from local.settings.json: where storage and Event Hubs are, which hub and
// consumer group must exist, and the HTTP port. Creates the file from the committed example first.
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_AMQP_PORT } from '@local/eventhubs-emulator/defaults';
import { SETTING_NAMES } from '../../src/lib/settings';
import { DEFAULT_PORTS } from '../azurite';
import { readLocalSettings } from '../host';

export const SETTINGS_FILE = 'local.settings.json';
export const EXAMPLE_SETTINGS_FILE = 'local.settings.example.json';
export const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export type StorageTarget =
  | { kind: 'azurite'; host: string; ports: { blob: number; queue: number; table: number } }
  | { kind: 'external' };

export type EventHubsTarget = { kind: 'emulator'; host: string; amqpPort: number } | { kind: 'external' };

export interface StackSettings {
  file: string;
  created: boolean;
  storage: StorageTarget;
  eventHubs: EventHubsTarget;
  eventHubConnection?: string;
  eventHubName: string;
  consumerGroup: string;
  httpPort?: number;
}

export class StackSettingsError extends Error {
  override readonly name = 'StackSettingsError';
  readonly code = 'InvalidLocalSettings';
}

export function loadStackSettings(appRoot: string): StackSettings {
  const file = path.join(appRoot, SETTINGS_FILE);
  let created = false;
  if (!existsSync(file)) {
    const example = path.join(appRoot, EXAMPLE_SETTINGS_FILE);
    if (!existsSync(example))
      throw new StackSettingsError(
        `Neither ${SETTINGS_FILE} nor ${EXAMPLE_SETTINGS_FILE} exists in ${appRoot}`,
      );
    copyFileSync(example, file);
    created = true;
  }
  const { values, localHttpPort } = readLocalSettings(file);
  const value = (name: string) => process.env[name] ?? values[name];
  const required = (name: string) => {
    const found = value(name);
    if (!found) throw new StackSettingsError(`${SETTINGS_FILE} has no Values.${name}`);
    return found;
  };
  return {
    file,
    created,
    storage: storageTarget(value(SETTING_NAMES.storageConnection)),
    eventHubs: eventHubsTarget(value(SETTING_NAMES.eventHubConnection)),
    eventHubConnection: value(SETTING_NAMES.eventHubConnection),
    eventHubName: required(SETTING_NAMES.eventHubName),
    consumerGroup: required(SETTING_NAMES.consumerGroup),
    httpPort: localHttpPort,
  };
}

/** `UseDevelopmentStorage=true` or an explicit Azurite connection string means a local Azurite. */
export function storageTarget(connection: string | undefined): StorageTarget {
  if (!connection) return { kind: 'external' };
  const parts = parseConnectionString(connection);
  if (parts.usedevelopmentstorage?.toLowerCase() === 'true') {
    return { kind: 'azurite', host: '127.0.0.1', ports: { ...DEFAULT_PORTS } };
  }
  const blob = endpoint(parts.blobendpoint);
  if (!blob || !LOCAL_HOSTS.has(blob.hostname)) return { kind: 'external' };
  return {
    kind: 'azurite',
    host: '127.0.0.1',
    ports: {
      blob: Number(blob.port || 80),
      queue: Number(endpoint(parts.queueendpoint)?.port || DEFAULT_PORTS.queue),
      table: Number(endpoint(parts.tableendpoint)?.port || DEFAULT_PORTS.table),
    },
  };
}

/** `UseDevelopmentEmulator=true` on a local endpoint means the Event Hubs emulator; the port is the Endpoint's. */
export function eventHubsTarget(connection: string | undefined): EventHubsTarget {
  if (!connection) return { kind: 'external' };
  const parts = parseConnectionString(connection);
  const url = endpoint(parts.endpoint);
  if (parts.usedevelopmentemulator?.toLowerCase() !== 'true' || !url || !LOCAL_HOSTS.has(url.hostname)) {
    return { kind: 'external' };
  }
  return { kind: 'emulator', host: '127.0.0.1', amqpPort: Number(url.port || DEFAULT_AMQP_PORT) };
}

function parseConnectionString(connection: string): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const part of connection.split(';')) {
    const index = part.indexOf('=');
    if (index > 0) parts[part.slice(0, index).trim().toLowerCase()] = part.slice(index + 1).trim();
  }
  return parts;
}

function endpoint(text: string | undefined): URL | undefined {
  if (!text) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
