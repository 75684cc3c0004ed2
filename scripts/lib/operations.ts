// What the operator tools (`npm run dead-letters`, `npm run checkpoints`) work against: the app's own
// settings, from local.settings.json (the local stack) overlaid by the environment (the app settings of
// a deployment, exported), or an Azure namespace and storage account named on the command line
// (passwordless: DefaultAzureCredential). Clients are made on first use and closed together.
import type { EventHubConsumerClient, EventHubProducerClient } from '@azure/event-hubs';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { readLocalSettings } from '../../local/host';
import { checkpointStore, type CheckpointScope } from '../../src/lib/consume/checkpoints';
import { createBlobServiceClient } from '../../src/lib/consume/deadLetter';
import { createProducerClient } from '../../src/lib/publish/eventHubClient';
import { createReaderClient } from '../../src/lib/consume/eventHubReader';
import {
  readConsumerSettings,
  SETTING_NAMES,
  type ConsumerSettings,
  type Environment,
} from '../../src/lib/settings';

export interface OperationsOptions {
  /** Default: ./local.settings.json (missing: the environment only). */
  settingsFile?: string;
  /** Event Hubs namespace (`name` or `name.servicebus.windows.net`): identity-based, DefaultAzureCredential. */
  namespace?: string;
  /** Storage account holding checkpoints and dead letters: identity-based, DefaultAzureCredential. */
  storageAccount?: string;
  eventHubName?: string;
  consumerGroup?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * local.settings.json's Values, then the environment on top (as Core Tools does). A connection given
 * in the environment (any `<Prefix>` or `<Prefix>__*` variable) replaces the file's whole connection,
 * so a connection string in the file cannot shadow an identity-based one from the environment.
 */
export function operationsEnvironment(options: OperationsOptions = {}): Environment {
  const processEnv = options.env ?? process.env;
  const values = {
    ...readLocalSettings(options.settingsFile ?? 'local.settings.json').values,
  } as Environment;
  for (const prefix of [SETTING_NAMES.eventHubConnection, SETTING_NAMES.storageConnection]) {
    if (Object.keys(processEnv).some((name) => belongsTo(name, prefix))) dropConnection(values, prefix);
  }
  const env: Environment = { ...values, ...processEnv };
  if (options.namespace) {
    dropConnection(env, SETTING_NAMES.eventHubConnection);
    const host = options.namespace.includes('.')
      ? options.namespace
      : `${options.namespace}.servicebus.windows.net`;
    env[`${SETTING_NAMES.eventHubConnection}__fullyQualifiedNamespace`] = host;
  }
  if (options.storageAccount) {
    dropConnection(env, SETTING_NAMES.storageConnection);
    env[`${SETTING_NAMES.storageConnection}__accountName`] = options.storageAccount;
  }
  if (options.eventHubName) env[SETTING_NAMES.eventHubName] = options.eventHubName;
  if (options.consumerGroup) env[SETTING_NAMES.consumerGroup] = options.consumerGroup;
  return env;
}

function belongsTo(name: string, prefix: string): boolean {
  const lower = name.toLowerCase();
  return lower === prefix.toLowerCase() || lower.startsWith(`${prefix.toLowerCase()}__`);
}

function dropConnection(env: Environment, prefix: string): void {
  for (const name of Object.keys(env)) if (belongsTo(name, prefix)) delete env[name];
}

/** The clients one command needs, made lazily from one environment. */
export class Operations {
  readonly env: Environment;
  readonly settings: ConsumerSettings;
  private blobServiceClient?: BlobServiceClient;
  private readerClient?: EventHubConsumerClient;
  private producerClient?: EventHubProducerClient;

  constructor(env: Environment) {
    this.env = env;
    this.settings = readConsumerSettings(env);
  }

  static fromOptions(options: OperationsOptions): Operations {
    return new Operations(operationsEnvironment(options));
  }

  get blobService(): BlobServiceClient {
    return (this.blobServiceClient ??= createBlobServiceClient(this.env));
  }

  get deadLetterContainer(): ContainerClient {
    return this.blobService.getContainerClient(this.settings.deadLetterContainer);
  }

  get checkpointStore() {
    return checkpointStore(this.blobService);
  }

  /** Reads through `$Default` (see src/lib/consume/eventHubReader.ts). */
  get reader(): EventHubConsumerClient {
    return (this.readerClient ??= createReaderClient(this.env));
  }

  get producer(): EventHubProducerClient {
    return (this.producerClient ??= createProducerClient(this.env));
  }

  /** The host's checkpoint path for the app's consumer group (namespace as the SDK names it). */
  get checkpointScope(): CheckpointScope {
    return {
      fullyQualifiedNamespace: this.reader.fullyQualifiedNamespace,
      eventHubName: this.settings.eventHubName,
      consumerGroup: this.settings.consumerGroup,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.readerClient?.close(), this.producerClient?.close()]);
  }
}
