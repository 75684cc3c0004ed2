// The instance's one EventHubProducerClient: created on first use, reused by every invocation (it holds
// one AMQP connection), closed by the app's terminate hook.
import { EventHubProducerClient, RetryMode, type RetryOptions } from '@azure/event-hubs';
import { createCredential } from '../credentials';
import { SETTING_NAMES, readEventHubSettings, SettingsError, type Environment } from '../settings';

/**
 * Short and bounded, so that an unreachable namespace turns into a 503 within seconds instead of the
 * SDK's default of 3 tries x 60 s. Each request also has an overall deadline (PUBLISH_TIMEOUT_MS).
 */
export const PRODUCER_RETRY_OPTIONS: RetryOptions = {
  mode: RetryMode.Exponential,
  maxRetries: 2,
  retryDelayInMs: 250,
  maxRetryDelayInMs: 2_000,
  timeoutInMs: 5_000,
};

export function createProducerClient(env: Environment): EventHubProducerClient {
  const settings = readEventHubSettings(env);
  const options = { retryOptions: PRODUCER_RETRY_OPTIONS };
  if (settings.kind === 'identity') {
    return new EventHubProducerClient(
      settings.fullyQualifiedNamespace,
      settings.eventHubName,
      createCredential(settings.identity),
      options,
    );
  }
  try {
    return new EventHubProducerClient(settings.connectionString, settings.eventHubName, options);
  } catch {
    // The SDK's own message quotes the whole connection string, key included.
    throw new SettingsError(
      SETTING_NAMES.eventHubConnection,
      `${SETTING_NAMES.eventHubConnection} is not a valid Event Hubs connection string`,
    );
  }
}

let shared: EventHubProducerClient | undefined;

export function getSharedProducer(): EventHubProducerClient {
  shared ??= createProducerClient(process.env);
  return shared;
}

export async function closeSharedProducer(): Promise<void> {
  const client = shared;
  shared = undefined;
  await client?.close();
}
