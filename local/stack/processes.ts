// The Event Hubs emulator and the local Functions host as child processes, started through their
// own command lines exactly as a user would run them. Used by `npm start`, the end-to-end tests and
// the end-to-end benchmark.
import { type ChildOptions, TsChild } from './childProcess';

export const HOST_CLI = 'local/host/cli.ts';
export const EMULATOR_CLI = 'local/emulator/cli.ts';

export interface EmulatorProcessOptions {
  amqpPort: number;
  healthPort: number;
  /** Hub flags (one hub) or the official Config.json format. */
  hub?: { name: string; partitions?: number; consumerGroups?: string[] };
  configFile?: string;
  dataDir?: string;
  /** More emulator flags (see `npm run emulator -- --help`). */
  extraArgs?: string[];
  child?: Omit<ChildOptions, 'args'>;
}

export interface EmulatorProcess {
  child: TsChild;
  amqpPort: number;
  healthPort: number;
  connectionString: string;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(options: EmulatorProcessOptions): Promise<EmulatorProcess> {
  const args = ['--port', String(options.amqpPort), '--health-port', String(options.healthPort)];
  if (options.configFile) args.push('--config', options.configFile);
  if (options.hub) {
    args.push('--hub', options.hub.name);
    if (options.hub.partitions) args.push('--partitions', String(options.hub.partitions));
    for (const group of options.hub.consumerGroups ?? []) args.push('--consumer-group', group);
  }
  if (options.dataDir) args.push('--data-dir', options.dataDir);
  args.push(...(options.extraArgs ?? []));
  // info: the ready line carries the ports; callers decide what to show.
  args.push('--log-level', 'info');
  const child = new TsChild('Event Hubs emulator', EMULATOR_CLI, { ...options.child, args });
  try {
    const ready = await child.waitForLine(
      /emulator ready: AMQP [^\s,]+:(\d+).*health http:\/\/[^:]+:(\d+)\/health/,
      30_000,
    );
    const [, connectionString] = await child.waitForLine(/connection string: (Endpoint=\S+)/, 5_000);
    return {
      child,
      amqpPort: Number(ready[1]),
      healthPort: Number(ready[2]),
      connectionString,
      stop: () => child.stop('SIGTERM'),
    };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

export interface HostProcessOptions {
  appRoot: string;
  /** 0 picks a free port. */
  port?: number;
  settingsFile?: string;
  hostJsonFile?: string;
  recordFile?: string;
  functions?: string[];
  loadBalancingIntervalMs?: number;
  ownershipExpirationMs?: number;
  child?: Omit<ChildOptions, 'args'>;
}

export interface HostProcess {
  child: TsChild;
  url: string;
  port: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export async function startHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  const args = ['--app-root', options.appRoot];
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.settingsFile) args.push('--settings', options.settingsFile);
  if (options.hostJsonFile) args.push('--host-json', options.hostJsonFile);
  if (options.recordFile) args.push('--record', options.recordFile);
  if (options.functions) args.push('--functions', options.functions.join(','));
  if (options.loadBalancingIntervalMs)
    args.push('--load-balancing-interval', String(options.loadBalancingIntervalMs));
  if (options.ownershipExpirationMs)
    args.push('--ownership-expiration', String(options.ownershipExpirationMs));
  const child = new TsChild('local Functions host', HOST_CLI, { ...options.child, args });
  try {
    const [, url] = await child.waitForLine(/Host started \((http:\/\/[^)]+)\)/, 60_000);
    return {
      child,
      url,
      port: Number(new URL(url).port),
      stop: () => child.stop('SIGINT'),
      kill: () => child.kill(),
    };
  } catch (error) {
    await child.kill();
    throw error;
  }
}
