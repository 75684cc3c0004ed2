// Timer: how far processEvents' consumer group is behind, one ConsumerLag line per partition (format in
// src/lib/consume/eventLog.ts, computation in src/lib/consume/consumerLag.ts), for the lag alert in infra/ and the
// queries in docs/deploy.md. Schedule: app setting CONSUMER_LAG_SCHEDULE (NCRONTAB with seconds),
// default every minute. It reads the host's checkpoints in AzureWebJobsStorage and the partitions'
// properties from Event Hubs with the roles the app already has (see infra/modules/role-assignments.bicep).
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { checkpointStore, readCheckpoints } from '../lib/consume/checkpoints';
import { measureConsumerLag, type LagSources } from '../lib/consume/consumerLag';
import { createBlobServiceClient } from '../lib/consume/deadLetter';
import { consumerLagFailedLine, consumerLagLine } from '../lib/consume/eventLog';
import { createReaderClient, readEventAt, readPartitions } from '../lib/consume/eventHubReader';
import { describeError } from '../lib/redact';
import {
  readConsumerSettings,
  SETTING_NAMES,
  type ConsumerSettings,
  type Environment,
} from '../lib/settings';

export const DEFAULT_CONSUMER_LAG_SCHEDULE = '0 */1 * * * *';

export interface ConsumerLagDependencies {
  readSettings(): ConsumerSettings;
  sources(settings: ConsumerSettings): LagSources;
  now(): number;
}

export function createConsumerLagHandler(dependencies: ConsumerLagDependencies) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    try {
      const settings = dependencies.readSettings();
      const lags = await measureConsumerLag(dependencies.sources(settings), dependencies.now);
      for (const lag of lags) context.info(consumerLagLine(lag));
    } catch (error) {
      context.error(consumerLagFailedLine(describeError(error)));
      throw error;
    }
  };
}

let shared: { reader: ReturnType<typeof createReaderClient>; sources: LagSources } | undefined;

/** One reader (one AMQP connection) and one blob client per instance, made on the first run. */
function sharedSources(env: Environment, settings: ConsumerSettings): LagSources {
  if (shared) return shared.sources;
  const reader = createReaderClient(env);
  const store = checkpointStore(createBlobServiceClient(env));
  const scope = {
    fullyQualifiedNamespace: reader.fullyQualifiedNamespace,
    eventHubName: settings.eventHubName,
    consumerGroup: settings.consumerGroup,
  };
  const sources: LagSources = {
    partitions: () => readPartitions(reader),
    checkpoints: () => readCheckpoints(store, scope),
    enqueuedTime: async (partitionId, sequenceNumber) =>
      (await readEventAt(reader, partitionId, sequenceNumber))?.enqueuedTimeUtc ?? null,
  };
  shared = { reader, sources };
  return sources;
}

export const consumerLag = createConsumerLagHandler({
  readSettings: () => readConsumerSettings(process.env),
  sources: (settings) => sharedSources(process.env, settings),
  now: Date.now,
});

// Read when the worker loads the app (app settings are its environment), so a missing setting means
// the default rather than an unresolvable %CONSUMER_LAG_SCHEDULE% binding expression.
app.timer('consumerLag', {
  schedule: process.env[SETTING_NAMES.consumerLagSchedule]?.trim() || DEFAULT_CONSUMER_LAG_SCHEDULE,
  handler: consumerLag,
});

app.hook.appTerminate(async () => {
  const reader = shared?.reader;
  shared = undefined;
  await reader?.close();
});
