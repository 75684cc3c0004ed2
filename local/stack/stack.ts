// `npm start`: Azurite, the Event Hubs emulator and the Functions host (this project's local host,
// or Core Tools with --func), started in that order, each healthy before the next, stopped in the
// reverse order. Every child runs in its own process group so that Ctrl-C reaches only this process,
// which then lets the host finish and release its partitions before the emulators go away; and every
// child stops by itself if this process dies without stopping it (EXIT_WITH_PARENT).
import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DEFAULT_HEALTH_PORT } from '@local/eventhubs-emulator/defaults';
import { SETTING_NAMES } from '../../src/lib/settings';
import { prepareExplorer } from '../explorer';
import { DEFAULT_HTTP_PORT } from '../host';
import { findCoreTools, startCoreTools } from './coreTools';
import { loadStackSettings, SETTINGS_FILE, StackSettingsError } from './localSettings';
import { isPortFree, PortConflictError } from './ports';
import { stopChild } from '../stopChild';
import { type HostProcess, startHostProcess } from './processes';
import { ensureAzurite, ensureEmulator, type Service } from './services';

/** Output lines kept per child for error messages; everything is printed as it comes. */
const RECENT_LINES = 200;

export interface StackOptions {
  appRoot: string;
  useCoreTools?: boolean;
  /** Overrides Host.LocalHttpPort. */
  port?: number;
  emulatorHealthPort?: number;
  /** The emulator's AMQP over TLS port; default 5671 (what Python dials), 0 for a free one. */
  emulatorTlsPort?: number;
  /** The explorer's port (0 = any free one); default: EXPLORER_PORT, else the host's port + 10. False: none. */
  explorerPort?: number | false;
  /** Also serve AMQP over WebSockets on this port; off unless given. */
  emulatorWebSocketPort?: number;
  /** Where the stack's own lines and the host's output go. */
  print?: (line: string) => void;
}

export interface RunningStack {
  url: string;
  /** Resolves with an exit code if the Functions host stops on its own. */
  hostExited: Promise<number>;
  stop(): Promise<void>;
  /** Second Ctrl-C: no more waiting. */
  kill(): void;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const settings = loadStackSettings(options.appRoot);
  if (settings.created)
    print(`Created ${SETTINGS_FILE} from local.settings.example.json (edit it to change settings).`);

  const coreTools = options.useCoreTools ? findCoreTools(options.appRoot) : undefined;
  if (coreTools !== undefined && coreTools.path === undefined)
    throw new StackSettingsError(coreTools.message);
  if (coreTools !== undefined) print(coreTools.message);
  const funcPath = coreTools?.path;

  const httpPort = options.port ?? settings.httpPort ?? DEFAULT_HTTP_PORT;
  if (httpPort !== 0 && !(await isPortFree('127.0.0.1', httpPort))) {
    throw new PortConflictError(
      `Port ${httpPort} (the Functions host's HTTP port) is in use by another program. Free it, or set ` +
        `Host.LocalHttpPort in ${SETTINGS_FILE}, or run npm start -- --port <port>.`,
    );
  }

  const explorer =
    options.explorerPort === false
      ? undefined
      : await prepareExplorer({
          settingsFile: settings.file,
          hostPort: httpPort,
          port: options.explorerPort,
          logAvailable: !funcPath,
        });
  const started: Service[] = [];
  let emulatorClients: string[] = [];
  const children: ChildProcess[] = [];
  const stopServices = async () => {
    for (const service of [...started].reverse()) await service.stop().catch(() => undefined);
  };
  try {
    if (settings.storage.kind === 'azurite') {
      print('Starting Azurite...');
      started.push(await ensureAzurite(settings.storage, path.join(options.appRoot, '.data', 'azurite')));
    } else {
      print(`${SETTING_NAMES.storageConnection} is not a local Azurite: using it as configured.`);
    }
    if (settings.eventHubs.kind === 'emulator') {
      print('Starting the Event Hubs emulator...');
      const emulator = await ensureEmulator(settings.eventHubs, {
        healthPort: options.emulatorHealthPort ?? DEFAULT_HEALTH_PORT,
        tlsPort: options.emulatorTlsPort,
        webSocketPort: options.emulatorWebSocketPort,
        eventHubName: settings.eventHubName,
        consumerGroup: settings.consumerGroup,
        dataDir: path.join(options.appRoot, '.data', 'eventhubs'),
        connectionString: settings.eventHubConnection ?? '',
        child: {
          detached: true,
          keepLines: RECENT_LINES,
          onLine: (line, stream) => {
            if (stream === 'stderr') print(`[emulator] ${line}`);
          },
        },
      });
      started.push(emulator);
      emulatorClients = emulator.clientLines;
    } else {
      print(`${SETTING_NAMES.eventHubConnection} is not the local emulator: using it as configured.`);
    }

    let url: string;
    let hostExited: Promise<number>;
    let stopHost: () => Promise<void>;
    if (funcPath) {
      print(`Starting Core Tools (${funcPath} start)...`);
      const func = startCoreTools(funcPath, options.appRoot, options.port ?? settings.httpPort);
      children.push(func);
      url = `http://localhost:${httpPort}`;
      hostExited = new Promise((resolve) => func.once('exit', (code) => resolve(code ?? 1)));
      stopHost = () => stopChild(func, 'SIGINT', 20_000);
    } else {
      print('Starting the local Functions host...');
      const host: HostProcess = await startHostProcess({
        appRoot: options.appRoot,
        port: httpPort,
        child: {
          detached: true,
          keepLines: RECENT_LINES,
          onLine: (line) => {
            print(line);
            explorer?.hostLine(line);
          },
        },
      });
      children.push(host.child.process);
      url = host.url;
      hostExited = host.child.exited.then(({ code }) => code ?? 1);
      stopHost = () => host.stop();
    }

    const runningExplorer = await explorer?.start(`${url}/api/events`);
    print(banner(url, started, settings.eventHubName, emulatorClients, runningExplorer?.url));
    let stopping: Promise<void> | undefined;
    return {
      url,
      hostExited,
      stop: () =>
        (stopping ??= (async () => {
          print('Stopping the Functions host...');
          await runningExplorer?.close();
          await stopHost();
          await stopServices();
          print('Stopped.');
        })()),
      kill: () => {
        for (const child of children) child.kill('SIGKILL');
        for (const service of started) service.kill();
      },
    };
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    await stopServices();
    throw error;
  }
}

function banner(
  url: string,
  services: Service[],
  eventHubName: string,
  emulatorClients: string[],
  explorerUrl?: string,
): string {
  const lines = [
    '',
    'Local pipeline ready:',
    ...services.map((service) => `  - ${service.description}`),
    `  - Functions host at ${url}`,
    '',
    ...(explorerUrl
      ? [`Explorer: ${explorerUrl}  (events, send, checkpoints, dead letters, live log)`, '']
      : []),
    ...(emulatorClients.length
      ? [
          'Connect your own clients to the Event Hubs emulator:',
          ...emulatorClients.map((line) => `  ${line}`),
          '',
        ]
      : []),
    `Publish events to hub '${eventHubName}' (POST ${url}/api/events):`,
    `  curl -i -X POST ${url}/api/events -H 'Content-Type: application/json' -d '[{"id":1,"temperature":21.5},{"id":2,"temperature":22.1}]'`,
    'A failing event (dead-lettered by the sample handler):',
    `  curl -i -X POST ${url}/api/events -H 'Content-Type: application/json' -H 'x-event-properties: {"poison":true}' -d '{"id":3}'`,
    '',
    'The consumer (processEvents) logs below. Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}
