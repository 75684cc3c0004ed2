// The emulator's entity model, read from the official emulator's Config.json (unchanged format) or
// from plain options. Validation errors name the JSON path of the bad field so a user can fix the
// file without guessing.
import { readFileSync } from 'node:fs';

export const DEFAULT_NAMESPACE = 'emulatorNs1';
export const DEFAULT_HUB_NAME = 'events';
export const DEFAULT_PARTITION_COUNT = 4;
export const DEFAULT_CONSUMER_GROUP = '$default';
export const MAX_PARTITIONS = 32;
export const MAX_CONSUMER_GROUPS = 20;

export interface HubConfig {
  name: string;
  partitionCount: number;
  /** Always contains `$default`, first. */
  consumerGroups: string[];
}

export interface NamespaceConfig {
  name: string;
  hubs: HubConfig[];
}

export interface HubOption {
  name: string;
  partitionCount?: number;
  consumerGroups?: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Event Hubs naming rules: letters, digits, '.', '-', '_'; start and end with a letter or digit.
const HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
const CONSUMER_GROUP_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$/;

export function defaultNamespace(): NamespaceConfig {
  return {
    name: DEFAULT_NAMESPACE,
    hubs: [
      {
        name: DEFAULT_HUB_NAME,
        partitionCount: DEFAULT_PARTITION_COUNT,
        consumerGroups: [DEFAULT_CONSUMER_GROUP],
      },
    ],
  };
}

/** Builds the namespace from programmatic/CLI hub options. */
export function namespaceFromHubs(hubs: HubOption[], namespaceName = DEFAULT_NAMESPACE): NamespaceConfig {
  if (hubs.length === 0) throw new ConfigError('hubs: at least one event hub is required');
  const result: NamespaceConfig = { name: namespaceName, hubs: [] };
  hubs.forEach((hub, index) => {
    const path = `hubs[${index}]`;
    result.hubs.push(
      validateHub(path, hub.name, hub.partitionCount ?? DEFAULT_PARTITION_COUNT, hub.consumerGroups ?? [], {
        name: `${path}.name`,
        partitionCount: `${path}.partitionCount`,
        consumerGroups: (i) => `${path}.consumerGroups[${i}]`,
      }),
    );
  });
  checkDuplicateHubs(result.hubs, (i) => `hubs[${i}].name`);
  return result;
}

export function loadConfigFile(file: string): NamespaceConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseConfig(json);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${file}: ${error.message}`);
    throw error;
  }
}

/** Parses the official emulator's Config.json document. */
export function parseConfig(json: unknown): NamespaceConfig {
  const root = expectObject(json, '(root)');
  const userConfig = expectObject(root.UserConfig, 'UserConfig');
  const namespaces = userConfig.NamespaceConfig;
  if (!Array.isArray(namespaces) || namespaces.length !== 1) {
    throw new ConfigError('UserConfig.NamespaceConfig must be an array with exactly one namespace');
  }
  const nsPath = 'UserConfig.NamespaceConfig[0]';
  const ns = expectObject(namespaces[0], nsPath);
  if (ns.Type !== undefined && ns.Type !== 'EventHub') {
    throw new ConfigError(`${nsPath}.Type must be "EventHub"`);
  }
  const name = ns.Name === undefined ? DEFAULT_NAMESPACE : ns.Name;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,49}$/.test(name)) {
    throw new ConfigError(`${nsPath}.Name must be a namespace name (letters, digits, '-')`);
  }
  const entities = ns.Entities;
  if (!Array.isArray(entities) || entities.length === 0) {
    throw new ConfigError(`${nsPath}.Entities must be a non-empty array of event hubs`);
  }
  const hubs = entities.map((entity: unknown, index: number) => {
    const path = `${nsPath}.Entities[${index}]`;
    const e = expectObject(entity, path);
    const groups = e.ConsumerGroups === undefined ? [] : e.ConsumerGroups;
    if (!Array.isArray(groups)) throw new ConfigError(`${path}.ConsumerGroups must be an array`);
    const groupNames = groups.map((group: unknown, i: number) => {
      const groupPath = `${path}.ConsumerGroups[${i}]`;
      return expectObject(group, groupPath).Name;
    });
    return validateHub(path, e.Name, e.PartitionCount, groupNames, {
      name: `${path}.Name`,
      partitionCount: `${path}.PartitionCount`,
      consumerGroups: (i) => `${path}.ConsumerGroups[${i}].Name`,
    });
  });
  checkDuplicateHubs(hubs, (i) => `${nsPath}.Entities[${i}].Name`);
  return { name, hubs };
}

interface FieldPaths {
  name: string;
  partitionCount: string;
  consumerGroups: (index: number) => string;
}

function validateHub(
  path: string,
  name: unknown,
  partitionCount: unknown,
  consumerGroups: unknown[],
  paths: FieldPaths,
): HubConfig {
  if (typeof name !== 'string' || !HUB_NAME.test(name)) {
    throw new ConfigError(
      `${paths.name} must be an event hub name: 1-256 letters, digits, '.', '-' or '_', starting and ending with a letter or digit`,
    );
  }
  // The official schema writes PartitionCount as a string ("2"); numbers are accepted too.
  const count =
    typeof partitionCount === 'string' && /^\d+$/.test(partitionCount.trim())
      ? Number(partitionCount)
      : partitionCount;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new ConfigError(
      `${paths.partitionCount} must be 1..${MAX_PARTITIONS} (got ${JSON.stringify(partitionCount)})`,
    );
  }
  const groups = [DEFAULT_CONSUMER_GROUP];
  consumerGroups.forEach((group, index) => {
    if (typeof group !== 'string') {
      throw new ConfigError(`${paths.consumerGroups(index)} must be a string`);
    }
    if (group.toLowerCase() === DEFAULT_CONSUMER_GROUP) return; // implicit; listing it is harmless
    if (!CONSUMER_GROUP_NAME.test(group)) {
      throw new ConfigError(
        `${paths.consumerGroups(index)} must be a consumer group name: 1-50 letters, digits, '.', '-' or '_', starting and ending with a letter or digit`,
      );
    }
    if (groups.some((existing) => existing.toLowerCase() === group.toLowerCase())) {
      throw new ConfigError(`${paths.consumerGroups(index)} duplicates consumer group "${group}"`);
    }
    groups.push(group);
  });
  if (groups.length > MAX_CONSUMER_GROUPS) {
    throw new ConfigError(
      `${path} has ${groups.length} consumer groups including $default; at most ${MAX_CONSUMER_GROUPS} are allowed`,
    );
  }
  return { name, partitionCount: count, consumerGroups: groups };
}

function checkDuplicateHubs(hubs: HubConfig[], pathOf: (index: number) => string) {
  const seen = new Set<string>();
  hubs.forEach((hub, index) => {
    const key = hub.name.toLowerCase();
    if (seen.has(key)) throw new ConfigError(`${pathOf(index)} duplicates event hub "${hub.name}"`);
    seen.add(key);
  });
}

function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${path} must be an object`);
  }
  return value as Record<string, unknown>;
}
