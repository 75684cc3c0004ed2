// App settings, read and validated in one place. Error messages name the setting and never echo its
// value: connection strings carry keys.

import { eventHubsConnectionStringProblem, parseConnectionString } from './connectionStrings';

export type Environment = Record<string, string | undefined>;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
  }
}

/** How to obtain an Entra ID token: a managed identity (optionally user-assigned) or DefaultAzureCredential. */
export interface IdentitySettings {
  managedIdentity: boolean;
  clientId?: string;
}

export type EventHubSettings =
  | { kind: 'connectionString'; connectionString: string; eventHubName: string }
  | { kind: 'identity'; fullyQualifiedNamespace: string; eventHubName: string; identity: IdentitySettings };

export type StorageSettings =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; identity: IdentitySettings };

export interface PublisherSettings {
  /** Largest accepted request body. */
  maxRequestBytes: number;
  /** Most events one request may carry: bounds the time spent packing them into batches. */
  maxEventsPerRequest: number;
  /**
   * Time a request may spend waiting for Event Hubs (partition lookup, batch creation, sends), summed;
   * the app's own work (parsing, packing) is not counted.
   */
  publishTimeoutMs: number;
}

export interface ConsumerSettings {
  eventHubName: string;
  consumerGroup: string;
  deadLetterContainer: string;
  /** Bodies longer than this many characters are truncated in the EventProcessed/EventFailed lines. */
  logBodyMaxChars: number;
}

/**
 * The names of the app settings, as users set them (local.settings.json, infra/, the portal). The two
 * connections are also prefixes: `<connection>__fullyQualifiedNamespace`, `__credential`, `__clientId`.
 */
export const SETTING_NAMES = {
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
} as const;

/** A binding expression (`%NAME%`): the host resolves it from the app settings. */
export function bindingExpression(setting: string): string {
  return `%${setting}%`;
}

export const DEFAULTS = {
  maxRequestBytes: 4 * 1024 * 1024,
  maxEventsPerRequest: 10_000,
  publishTimeoutMs: 10_000,
  deadLetterContainer: 'dead-letter-events',
  logBodyMaxChars: 1024,
} as const;

export function readEventHubSettings(env: Environment): EventHubSettings {
  const eventHubName = required(env, SETTING_NAMES.eventHubName);
  const connectionString = optional(env, SETTING_NAMES.eventHubConnection);
  if (connectionString !== undefined) {
    const parts = connectionStringParts(SETTING_NAMES.eventHubConnection, connectionString, 'Event Hubs');
    const invalid = eventHubsConnectionStringProblem(parts);
    if (invalid !== undefined) {
      throw new SettingsError(
        SETTING_NAMES.eventHubConnection,
        `${SETTING_NAMES.eventHubConnection} is not a valid Event Hubs connection string (${invalid})`,
      );
    }
    if (parts.EntityPath !== undefined && parts.EntityPath !== eventHubName) {
      throw new SettingsError(
        SETTING_NAMES.eventHubConnection,
        `${SETTING_NAMES.eventHubConnection} names a different event hub (EntityPath) than ${SETTING_NAMES.eventHubName}; remove EntityPath or make them equal`,
      );
    }
    return { kind: 'connectionString', connectionString, eventHubName };
  }
  const namespaceSetting = `${SETTING_NAMES.eventHubConnection}__fullyQualifiedNamespace`;
  const fullyQualifiedNamespace = optional(env, namespaceSetting);
  if (fullyQualifiedNamespace === undefined) {
    throw new SettingsError(
      SETTING_NAMES.eventHubConnection,
      `${SETTING_NAMES.eventHubConnection} is not set (set it to a connection string, or set ${namespaceSetting})`,
    );
  }
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(fullyQualifiedNamespace)) {
    throw new SettingsError(
      namespaceSetting,
      `${namespaceSetting} must be a host name such as <namespace>.servicebus.windows.net (no scheme, no path)`,
    );
  }
  return {
    kind: 'identity',
    fullyQualifiedNamespace,
    eventHubName,
    identity: readIdentity(env, SETTING_NAMES.eventHubConnection),
  };
}

export function readStorageSettings(env: Environment): StorageSettings {
  const connectionString = optional(env, SETTING_NAMES.storageConnection);
  if (connectionString !== undefined) {
    if (connectionString.replace(/;$/, '').toLowerCase() !== 'usedevelopmentstorage=true') {
      const parts = connectionStringParts(SETTING_NAMES.storageConnection, connectionString, 'Azure Storage');
      const hasAccount = parts.AccountName !== undefined || parts.BlobEndpoint !== undefined;
      if (!hasAccount) {
        throw new SettingsError(
          SETTING_NAMES.storageConnection,
          `${SETTING_NAMES.storageConnection} is not a valid Azure Storage connection string (missing AccountName or BlobEndpoint)`,
        );
      }
    }
    return { kind: 'connectionString', connectionString };
  }
  const uriSetting = `${SETTING_NAMES.storageConnection}__blobServiceUri`;
  const accountSetting = `${SETTING_NAMES.storageConnection}__accountName`;
  const blobServiceUri = optional(env, uriSetting);
  const accountName = optional(env, accountSetting);
  let uri: string;
  if (blobServiceUri !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(blobServiceUri)) {
      throw new SettingsError(
        uriSetting,
        `${uriSetting} must be a URL such as https://<account>.blob.core.windows.net`,
      );
    }
    uri = blobServiceUri;
  } else if (accountName !== undefined) {
    if (!/^[a-z0-9]{3,24}$/.test(accountName)) {
      throw new SettingsError(accountSetting, `${accountSetting} must be 3-24 lowercase letters and digits`);
    }
    uri = `https://${accountName}.blob.core.windows.net`;
  } else {
    throw new SettingsError(
      SETTING_NAMES.storageConnection,
      `${SETTING_NAMES.storageConnection} is not set (set it to a connection string, or set ${uriSetting} or ${accountSetting})`,
    );
  }
  return {
    kind: 'identity',
    blobServiceUri: uri,
    identity: readIdentity(env, SETTING_NAMES.storageConnection),
  };
}

export function readPublisherSettings(env: Environment): PublisherSettings {
  return {
    maxRequestBytes: positiveInteger(env, SETTING_NAMES.maxRequestBytes, DEFAULTS.maxRequestBytes),
    maxEventsPerRequest: positiveInteger(
      env,
      SETTING_NAMES.maxEventsPerRequest,
      DEFAULTS.maxEventsPerRequest,
    ),
    publishTimeoutMs: positiveInteger(env, SETTING_NAMES.publishTimeoutMs, DEFAULTS.publishTimeoutMs),
  };
}

export function readConsumerSettings(env: Environment): ConsumerSettings {
  const deadLetterContainer =
    optional(env, SETTING_NAMES.deadLetterContainer) ?? DEFAULTS.deadLetterContainer;
  if (!/^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(deadLetterContainer)) {
    throw new SettingsError(
      SETTING_NAMES.deadLetterContainer,
      `${SETTING_NAMES.deadLetterContainer} must be a valid blob container name (3-63 lowercase letters, digits and single hyphens)`,
    );
  }
  return {
    eventHubName: required(env, SETTING_NAMES.eventHubName),
    consumerGroup: required(env, SETTING_NAMES.consumerGroup),
    deadLetterContainer,
    logBodyMaxChars: positiveInteger(env, SETTING_NAMES.logBodyMaxChars, DEFAULTS.logBodyMaxChars),
  };
}

function readIdentity(env: Environment, prefix: string): IdentitySettings {
  const credentialSetting = `${prefix}__credential`;
  const clientIdSetting = `${prefix}__clientId`;
  const credential = optional(env, credentialSetting);
  const clientId = optional(env, clientIdSetting);
  if (credential !== undefined && credential.toLowerCase() !== 'managedidentity') {
    throw new SettingsError(credentialSetting, `${credentialSetting} must be "managedidentity" when set`);
  }
  if (clientId !== undefined && credential === undefined) {
    throw new SettingsError(
      clientIdSetting,
      `${clientIdSetting} is set but ${credentialSetting} is not; set ${credentialSetting}=managedidentity to use a user-assigned identity`,
    );
  }
  return clientId === undefined
    ? { managedIdentity: credential !== undefined }
    : { managedIdentity: true, clientId };
}

/** `Key=Value;` pairs, or a SettingsError that names the setting (never its value). */
function connectionStringParts(setting: string, value: string, service: string): Record<string, string> {
  const parts = parseConnectionString(value);
  if (parts === undefined) {
    throw new SettingsError(
      setting,
      `${setting} is not a valid ${service} connection string (expected Key=Value; pairs)`,
    );
  }
  return parts;
}

function optional(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Environment, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new SettingsError(name, `${name} is not set`);
  return value;
}

function positiveInteger(env: Environment, name: string, fallback: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new SettingsError(name, `${name} must be a positive integer`);
  }
  return Number(value);
}
