// Command line of the Event Hubs emulator: `npm run emulator -- --help`.
import { parseArgs } from 'node:util';
import {
  ConfigError,
  DEFAULT_CONSUMER_GROUP,
  DEFAULT_HUB_NAME,
  DEFAULT_PARTITION_COUNT,
  MAX_PARTITIONS,
} from './config';
import {
  DEFAULT_AMQP_PORT,
  DEFAULT_HEALTH_PORT,
  DEFAULT_RETENTION_BYTES,
  DEFAULT_RETENTION_MS,
  DEFAULT_TLS_PORT,
  DEFAULT_WEBSOCKET_PORT,
  type EmulatorOptions,
  EmulatorPortInUseError,
  type PortOption,
  startEmulator,
} from './index';
import { createLogger, isLogLevel, LOG_LEVELS } from './logger';
import { DEFAULT_SAS_KEY } from './sas';

const HELP = `Event Hubs emulator: a local AMQP 1.0 endpoint that the unmodified Azure Event Hubs SDKs use
as they use Azure (no Docker). Drop-in for the official emulator's ports, config file and
connection string.

Usage: npm run emulator -- [options]

Endpoints
  --host <address>          Interface to bind (default 127.0.0.1; 0.0.0.0 exposes it on the network)
  --port <n>                Plain AMQP port (default ${DEFAULT_AMQP_PORT}; 0 picks a free port)
  --health-port <n>         HTTP port of GET /health (default ${DEFAULT_HEALTH_PORT}; 0 picks a free port)
  --tls                     Also listen for AMQP over TLS (amqps), for clients without an emulator mode
  --tls-port <n>            TLS port (default ${DEFAULT_TLS_PORT}; implies --tls)
  --tls-cert <file>         PEM certificate to serve, over TLS and WebSockets (with --tls-key;
                            implies --tls unless --websocket is given)
  --tls-key <file>          PEM private key of --tls-cert
  --tls-cert-dir <dir>      Where the generated self-signed certificate is written and reused
                            (default <data-dir>/tls, else .data/eventhubs/tls)
  --websocket               Also serve AMQP over WebSockets (wss, and ws on the same port) at
                            /$servicebus/websocket, for the SDKs' WebSocket transport (behind proxies);
                            uses the TLS certificate, without opening the TLS port
  --websocket-port <n>      WebSocket port (default ${DEFAULT_WEBSOCKET_PORT}; Azure uses 443; implies --websocket)

Entities (a config file, or flags for one hub)
  --config <file>           The official emulator's Config.json (UserConfig.NamespaceConfig[0].Entities)
  --hub <name>              Event hub name (default ${DEFAULT_HUB_NAME})
  --partitions <n>          Partition count, 1..${MAX_PARTITIONS} (default ${DEFAULT_PARTITION_COUNT})
  --consumer-group <name>   Consumer group besides ${DEFAULT_CONSUMER_GROUP}; repeat for more

Storage
  --data-dir <dir>          Persist events and sequence numbers here, so they survive restarts
                            (default: in memory only)
  --retention <duration>    Drop events older than this: 90s, 30m, 1h, 7d (default 1h)
  --retention-size <size>   Per partition, drop the oldest events beyond this: 512KB, 64MB, 1GB
                            (default ${DEFAULT_RETENTION_BYTES / 1024 / 1024}MB)

Security
  --sas-key-name <name>     Accepted SAS key name (default ${DEFAULT_SAS_KEY.name})
  --sas-key <key>           Accepted SAS key (default the official emulator's ${DEFAULT_SAS_KEY.key});
                            or set EVENTHUBS_EMULATOR_SAS_KEY to keep it out of the process list

Other
  --log-level <level>       ${LOG_LEVELS.join(' | ')} (default info)
  -h, --help                Show this help

Connection string (no EntityPath; the SDKs take the hub name separately):
  Endpoint=sb://localhost;SharedAccessKeyName=${DEFAULT_SAS_KEY.name};SharedAccessKey=${DEFAULT_SAS_KEY.key};UseDevelopmentEmulator=true;
Stop with Ctrl+C (SIGINT) or SIGTERM: pending writes are flushed before exit.`;

const FLAG_OF_PORT: Record<PortOption, string> = {
  amqpPort: '--port',
  healthPort: '--health-port',
  tlsPort: '--tls-port',
  webSocketPort: '--websocket-port',
};

class EmulatorUsageError extends Error {
  override readonly name = 'EmulatorUsageError';
}

export function parseCommandLine(argv: string[]): EmulatorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'health-port': { type: 'string' },
      tls: { type: 'boolean' },
      'tls-port': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-cert-dir': { type: 'string' },
      websocket: { type: 'boolean' },
      'websocket-port': { type: 'string' },
      config: { type: 'string' },
      hub: { type: 'string' },
      partitions: { type: 'string' },
      'consumer-group': { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      retention: { type: 'string' },
      'retention-size': { type: 'string' },
      'sas-key-name': { type: 'string' },
      'sas-key': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.config && (values.hub || values.partitions || values['consumer-group'])) {
    throw new EmulatorUsageError('--config cannot be combined with --hub, --partitions or --consumer-group');
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!isLogLevel(logLevel))
    throw new EmulatorUsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const webSocketWanted = Boolean(values.websocket || values['websocket-port']);
  // The certificate flags serve the WebSocket listener too; without --websocket they turn on TLS.
  const certificateGiven = Boolean(values['tls-cert'] || values['tls-key']);
  const tlsWanted = Boolean(values.tls || values['tls-port'] || (certificateGiven && !webSocketWanted));
  const certificate = {
    certFile: values['tls-cert'],
    keyFile: values['tls-key'],
    certDir: values['tls-cert-dir'],
  };
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) {
    throw new EmulatorUsageError('--tls-cert and --tls-key go together');
  }
  const sasKey = values['sas-key'] ?? process.env.EVENTHUBS_EMULATOR_SAS_KEY;
  return {
    host: values.host,
    amqpPort: port(values.port, '--port'),
    healthPort: port(values['health-port'], '--health-port'),
    tls: tlsWanted ? { port: port(values['tls-port'], '--tls-port'), ...certificate } : undefined,
    webSocket: webSocketWanted
      ? { port: port(values['websocket-port'], '--websocket-port'), ...certificate }
      : undefined,
    configFile: values.config,
    hubs: values.config
      ? undefined
      : [
          {
            name: values.hub ?? DEFAULT_HUB_NAME,
            partitionCount: values.partitions === undefined ? undefined : partitions(values.partitions),
            consumerGroups: values['consumer-group'],
          },
        ],
    dataDir: values['data-dir'],
    retentionMs: values.retention === undefined ? DEFAULT_RETENTION_MS : parseDuration(values.retention),
    retentionBytes:
      values['retention-size'] === undefined ? DEFAULT_RETENTION_BYTES : parseSize(values['retention-size']),
    sasKeys:
      values['sas-key-name'] || sasKey
        ? [{ name: values['sas-key-name'] ?? DEFAULT_SAS_KEY.name, key: sasKey ?? DEFAULT_SAS_KEY.key }]
        : undefined,
    logLevel,
  };
}

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/i.exec(text.trim());
  if (!match)
    throw new EmulatorUsageError(`--retention must be a duration like 90s, 30m, 1h or 7d (got "${text}")`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2].toLowerCase() as 'ms'];
  const ms = Number(match[1]) * unit;
  if (ms < 1000) throw new EmulatorUsageError('--retention must be at least 1s');
  return ms;
}

export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(text.trim());
  if (!match)
    throw new EmulatorUsageError(`--retention-size must be a size like 512KB, 64MB or 1GB (got "${text}")`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 64 * 1024) throw new EmulatorUsageError('--retention-size must be at least 64KB');
  return bytes;
}

function partitions(text: string): number {
  const value = integer(text, '--partitions');
  if (value < 1 || value > MAX_PARTITIONS)
    throw new EmulatorUsageError(`--partitions must be 1..${MAX_PARTITIONS}`);
  return value;
}

function port(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = integer(text, flag);
  if (value > 65535) throw new EmulatorUsageError(`${flag} must be 0..65535`);
  return value;
}

function integer(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new EmulatorUsageError(`${flag} must be a whole number (got "${text}")`);
  return Number(text);
}

async function main(): Promise<void> {
  let options: EmulatorOptions | 'help';
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(HELP + '\n');
    return;
  }
  const logger = createLogger(options.logLevel);
  let emulator;
  try {
    emulator = await startEmulator({ ...options, logger });
  } catch (error) {
    process.stderr.write(`error: ${startupMessage(error as Error)}\n`);
    process.exit(1);
  }
  const usesDefaultKey = !options.sasKeys || options.sasKeys[0].key === DEFAULT_SAS_KEY.key;
  const masked = (text: string) =>
    usesDefaultKey ? text : text.replace(/SharedAccessKey=[^;]*/, 'SharedAccessKey=<your key>');
  logger.info(`connection string: ${masked(emulator.connectionString)}`);
  if (emulator.tlsConnectionString) {
    logger.info(
      `TLS connection string: ${masked(emulator.tlsConnectionString)} (trust ${emulator.tlsCertFile})`,
    );
  }
  if (emulator.webSocketConnectionString) {
    logger.info(
      `WebSocket connection string: ${masked(emulator.webSocketConnectionString)} ` +
        `(wss://localhost:${emulator.webSocketPort}/$servicebus/websocket, trust ${emulator.tlsCertFile}; ` +
        '.NET uses ws:// because of UseDevelopmentEmulator; local/emulator/README.md shows each SDK)',
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal}: stopping`);
    emulator.stop().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error(`stopping failed: ${error.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

function startupMessage(error: Error): string {
  if (error instanceof EmulatorPortInUseError) {
    return (
      `${error.message} (another emulator, or the official one in Docker?). ` +
      `Choose another port with ${FLAG_OF_PORT[error.option]} <n>, or ${FLAG_OF_PORT[error.option]} 0 for a free one.`
    );
  }
  if (error instanceof ConfigError) return `invalid configuration: ${error.message}`;
  return error.message;
}

if (require.main === module) void main();
