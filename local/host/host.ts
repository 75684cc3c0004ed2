// The local Functions host: loads the compiled v4 app in this process behind a supplied
// `@azure/functions-core`, serves its HTTP triggers and runs its Event Hubs triggers. One host per
// process (the core module and the app's module state are process-wide).
import { hostname } from 'node:os';
import path from 'node:path';
import { hostStorageClient } from './connections';
import { AppRegistry, installCoreModule, LOCAL_HOST_VERSION, type RegisteredFunction } from './coreModule';
import {
  CHECKPOINT_CONTAINER,
  DEFAULT_LOAD_BALANCING,
  describeEventHubFunctions,
  EventHubListener,
  type LoadBalancingOptions,
} from './eventHubs/listener';
import { readHostJson } from './hostJson';
import { describeHttpFunctions, type RunningHttpServer, startHttpServer } from './http/server';
import { Invoker, runLogHooks } from './invoke';
import { loadApp, terminateApp } from './loadApp';
import { CoalescingSink, HostLogger, type LogSink } from './logger';
import { InvocationRecorder } from './recorder';
import { applyToEnvironment, readLocalSettings } from './settings';
import { describeTimerFunctions, TimerListener } from './timer/timerListener';

export const DEFAULT_HTTP_PORT = 7071;

export interface LocalHostOptions {
  /** Folder with package.json, host.json and the compiled app. Default: the current directory. */
  appRoot?: string;
  /** Default: <appRoot>/local.settings.json. */
  settingsFile?: string;
  /** Default: <appRoot>/host.json. */
  hostJsonFile?: string;
  /** Overrides Host.LocalHttpPort (default 7071); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  bindAddress?: string;
  /** Append one JSON line per invocation to this file (see recorder.ts). */
  recordFile?: string;
  /** Run only these functions (like `func start --functions`). */
  functions?: string[];
  loadBalancing?: Partial<LoadBalancingOptions>;
  logSink?: LogSink;
}

export interface RunningHost {
  url: string;
  port: number;
  functions: string[];
  /** The Event Hubs consumer's owner id per Event Hubs-triggered function (as in ownership blobs). */
  eventHubOwners: Record<string, string>;
  stop(): Promise<void>;
}

export async function startHost(options: LocalHostOptions = {}): Promise<RunningHost> {
  const appRoot = path.resolve(options.appRoot ?? process.cwd());
  const settings = readLocalSettings(options.settingsFile ?? path.join(appRoot, 'local.settings.json'));
  const hostJson = readHostJson(options.hostJsonFile ?? path.join(appRoot, 'host.json'));
  const logger = new HostLogger(options.logSink ?? new CoalescingSink(process.stdout), hostJson.logLevels);

  if (!settings.file)
    logger.log('warning', `No local.settings.json found in ${appRoot}; using the environment only.`);
  for (const name of applyToEnvironment(settings.values)) {
    logger.log(
      'warning',
      `Skipping '${name}' from local settings as it's already defined in current environment variables.`,
    );
  }

  const registry = new AppRegistry();
  registry.systemLog = (level, category, message) => {
    const entry = runLogHooks(registry, level, category, message);
    logger.log(entry.level, entry.message, 'Host.Worker');
  };
  installCoreModule(registry);
  const app = await loadApp(appRoot, registry);

  const selected = selectFunctions(
    [...registry.functions.values()],
    options.functions,
    hostJson.functions,
    logger,
  );
  const recorder = options.recordFile ? new InvocationRecorder(options.recordFile) : undefined;
  const invoker = new Invoker(registry, logger, recorder);

  const httpFunctions = describeHttpFunctions(selected, hostJson.routePrefix);
  const eventHubFunctions = describeEventHubFunctions(selected, app.capabilities);
  const timerFunctions = describeTimerFunctions(selected, logger);
  const served = new Set([...httpFunctions, ...eventHubFunctions, ...timerFunctions].map((f) => f.fn));
  for (const fn of selected.filter((f) => !served.has(f))) {
    const trigger = Object.values(fn.metadata.bindings).find(
      (b) => b.direction === 'in' && /trigger$/i.test(b.type ?? ''),
    );
    logger.log(
      'warning',
      `Function '${fn.metadata.name}' (${trigger?.type ?? 'unknown trigger'}) will not run: the local host runs HTTP, Event Hubs and timer triggers only.`,
    );
  }

  const bindAddress = options.bindAddress ?? '127.0.0.1';
  const server: RunningHttpServer = await startHttpServer({
    host: bindAddress,
    port: options.port ?? settings.localHttpPort ?? DEFAULT_HTTP_PORT,
    functions: httpFunctions,
    invoker,
    capabilities: app.capabilities,
    logger,
    hostVersion: LOCAL_HOST_VERSION,
  });
  const baseUrl = `http://${bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress}:${server.port}`;

  const listeners: EventHubListener[] = [];
  try {
    if (eventHubFunctions.length > 0) {
      const container = hostStorageClient().getContainerClient(CHECKPOINT_CONTAINER);
      await container.createIfNotExists().catch((error: Error) => {
        throw new Error(
          `Cannot reach the host storage (AzureWebJobsStorage) at ${withoutQuery(container.url)}: ` +
            `${error.message}. Is Azurite running?`,
        );
      });
      const loadBalancing = {
        updateIntervalMs:
          options.loadBalancing?.updateIntervalMs ??
          hostJson.eventHubs.loadBalancingUpdateIntervalMs ??
          DEFAULT_LOAD_BALANCING.updateIntervalMs,
        ownershipExpirationMs:
          options.loadBalancing?.ownershipExpirationMs ??
          hostJson.eventHubs.partitionOwnershipExpirationMs ??
          DEFAULT_LOAD_BALANCING.ownershipExpirationMs,
      };
      for (const trigger of eventHubFunctions) {
        listeners.push(
          new EventHubListener(trigger, {
            options: hostJson.eventHubs,
            container,
            invoker,
            logger,
            loadBalancing,
            ownerId: `${hostname()}:${server.port}:${trigger.fn.metadata.name}`,
          }),
        );
      }
    }
  } catch (error) {
    await server.close();
    throw error;
  }

  logger.plain('\nFunctions:\n');
  for (const fn of httpFunctions) {
    const methods = fn.route.methods?.join(',') ?? 'GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS';
    logger.plain(`\t${fn.fn.metadata.name}: [${methods}] ${baseUrl}${fn.route.template}\n`);
  }
  for (const trigger of eventHubFunctions) logger.plain(`\t${trigger.fn.metadata.name}: eventHubTrigger\n`);
  for (const trigger of timerFunctions) logger.plain(`\t${trigger.fn.metadata.name}: timerTrigger\n`);
  logger.plain('');
  await Promise.all(listeners.map((listener) => listener.start()));
  const timers = timerFunctions.map((trigger) => new TimerListener(trigger, { invoker, logger }));
  for (const timer of timers) timer.start();
  // Always shown (like the function list): tools and tests wait for this line.
  logger.plain(`[${new Date().toISOString()}] Host started (${baseUrl})`);

  let stopped: Promise<void> | undefined;
  return {
    url: baseUrl,
    port: server.port,
    functions: selected.map((fn) => fn.metadata.name),
    eventHubOwners: Object.fromEntries(
      eventHubFunctions.map((t, i) => [t.fn.metadata.name, listeners[i].ownerId]),
    ),
    stop: () =>
      (stopped ??= (async () => {
        logger.plain(`[${new Date().toISOString()}] Stopping the host`);
        await Promise.all([
          server.close(),
          ...listeners.map((listener) => listener.stop()),
          ...timers.map((timer) => timer.stop()),
        ]);
        await terminateApp(registry);
        logger.plain(`[${new Date().toISOString()}] Host stopped`);
      })()),
  };
}

/** A URL made from a SAS connection string carries the token in its query: never print that. */
function withoutQuery(url: string): string {
  const { origin, pathname } = new URL(url);
  return `${origin}${pathname}`;
}

/** `AzureWebJobs.<name>.Disabled`, host.json `functions` and --functions narrow what runs, as in Core Tools. */
function selectFunctions(
  all: RegisteredFunction[],
  only: string[] | undefined,
  hostJsonFunctions: string[] | undefined,
  logger: HostLogger,
): RegisteredFunction[] {
  const allowed = only ?? hostJsonFunctions;
  const lower = allowed?.map((name) => name.toLowerCase());
  return all.filter((fn) => {
    const name = fn.metadata.name;
    if (lower && !lower.includes(name.toLowerCase())) return false;
    const disabled = process.env[`AzureWebJobs.${name}.Disabled`]?.toLowerCase();
    if (disabled === 'true' || disabled === '1') {
      logger.log('information', `Function '${name}' is disabled (AzureWebJobs.${name}.Disabled)`);
      return false;
    }
    return true;
  });
}
