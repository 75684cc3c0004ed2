// Programmatic API of the Event Hubs emulator: start it with chosen or random ports, get its
// connection string, stop it. The CLI (cli.ts) is a thin layer over startEmulator.
import type http from 'node:http';
import path from 'node:path';
import {
  defaultNamespace,
  type HubOption,
  loadConfigFile,
  namespaceFromHubs,
  type NamespaceConfig,
} from './config';
import { createLogger, type Logger, type LogLevel } from './logger';
import { closeServer, PortInUseError } from './listen';
import { startHealthServer } from './health';
import { ProducerRegistry } from './idempotence';
import { OwnershipRegistry } from './ownership';
import {
  DEFAULT_AMQP_PORT,
  DEFAULT_HEALTH_PORT,
  DEFAULT_RETENTION_BYTES,
  DEFAULT_RETENTION_MS,
  DEFAULT_TLS_PORT,
  DEFAULT_WEBSOCKET_PORT,
} from './defaults';
import { DEFAULT_SAS_KEY, type SasKey } from './sas';
import { AmqpServer } from './server';
import { EventStore } from './store/eventStore';
import { loadCertificate } from './tls';

export { ConfigError, DEFAULT_NAMESPACE } from './config';
export type { HubOption, NamespaceConfig } from './config';
export { createLogger } from './logger';
export type { LogLevel, Logger } from './logger';
export type { SasKey } from './sas';
/** Where Event Hubs places a partition key: the service's hash, which tests use to find keyed events. */
export { partitionForKey } from './partitionKey';
/** The names of the generated certificate and key in `certDir` (reusable as your own files). */
export { CERT_FILE_NAME, KEY_FILE_NAME } from './tls';
/** Where AMQP over WebSockets is served, and the largest WebSocket message accepted. */
export { MAX_WEBSOCKET_MESSAGE, WEBSOCKET_PATH } from './webSocket';

/** The default ports and retention (defaults.ts, also importable alone without loading the server). */
export * from './defaults';

/** The certificate of the TLS and WebSocket listeners (one for both; given in `tls` when both run). */
export interface EmulatorCertificateOptions {
  /** Your own certificate and key (PEM files). Without them a self-signed pair is generated. */
  certFile?: string;
  keyFile?: string;
  /** Where the generated certificate is written and reused. Default `<dataDir>/tls` or `.data/eventhubs/tls`. */
  certDir?: string;
}

export interface EmulatorTlsOptions extends EmulatorCertificateOptions {
  /** Default 5671; 0 picks a free port. */
  port?: number;
}

export interface EmulatorWebSocketOptions extends EmulatorCertificateOptions {
  /** Default 5443; 0 picks a free port. wss and ws are served on the same port. */
  port?: number;
}

export interface EmulatorOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Plain AMQP port; default 5672; 0 picks a free port. */
  amqpPort?: number;
  /** HTTP port of GET /health; default 5300; 0 picks a free port. */
  healthPort?: number;
  /** TLS (amqps) listener; off unless given. `true` uses the defaults. */
  tls?: boolean | EmulatorTlsOptions;
  /**
   * AMQP over WebSockets (wss, and ws on the same port) at /$servicebus/websocket; off unless given.
   * `true` uses the defaults.
   */
  webSocket?: boolean | EmulatorWebSocketOptions;
  /** The official emulator's Config.json. */
  configFile?: string;
  /** Hubs, when no config file is given. Default: `events` with 4 partitions and `$default`. */
  hubs?: HubOption[];
  /** Persist events and sequence state here; without it everything is in memory. */
  dataDir?: string;
  /** Events older than this are dropped; default 1 hour. */
  retentionMs?: number;
  /** Per partition, the oldest events are dropped beyond this many bytes; default 64 MiB. */
  retentionBytes?: number;
  /** Accepted SAS keys; default the official emulator's RootManageSharedAccessKey/SAS_KEY_VALUE. */
  sasKeys?: SasKey[];
  logLevel?: LogLevel;
  /** Replaces the console logger (tests, embedding). */
  logger?: Logger;
  /** The current time in ms for enqueued times and retention; default Date.now (tests move it). */
  now?: () => number;
}

export interface RunningEmulator {
  host: string;
  amqpPort: number;
  healthPort: number;
  /** Set when the TLS listener runs. */
  tlsPort?: number;
  /** Set when the WebSocket listener runs. */
  webSocketPort?: number;
  /** The certificate file clients must trust for TLS (amqps and wss). */
  tlsCertFile?: string;
  namespace: NamespaceConfig;
  /** Official emulator form: `Endpoint=sb://127.0.0.1:<port>;...;UseDevelopmentEmulator=true;`. */
  connectionString: string;
  /** For clients without an emulator mode: `Endpoint=sb://localhost:<tlsPort>;...` (TLS only). */
  tlsConnectionString?: string;
  /**
   * `Endpoint=sb://localhost:<webSocketPort>;...;UseDevelopmentEmulator=true;` for every SDK's WebSocket
   * transport (JS and Python use wss whatever the flag says, .NET ws because of it); README per SDK.
   */
  webSocketConnectionString?: string;
  stop(): Promise<void>;
}

export type PortOption = 'amqpPort' | 'healthPort' | 'tlsPort' | 'webSocketPort';

/** A port could not be bound; `option` names the setting that changes it. */
export class EmulatorPortInUseError extends Error {
  override name = 'EmulatorPortInUseError';
  constructor(
    readonly option: PortOption,
    readonly host: string,
    readonly port: number,
  ) {
    super(`${describePort(option)} ${host}:${port} is already in use`);
  }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info');
  const host = options.host ?? '127.0.0.1';
  const namespace = options.configFile
    ? loadConfigFile(options.configFile)
    : options.hubs
      ? namespaceFromHubs(options.hubs)
      : defaultNamespace();
  const sasKeys = options.sasKeys ?? [DEFAULT_SAS_KEY];
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : undefined;

  const store = await EventStore.open(
    namespace,
    {
      retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
      retentionBytes: options.retentionBytes ?? DEFAULT_RETENTION_BYTES,
      now: options.now ?? Date.now,
    },
    dataDir,
    logger,
  );
  const server = new AmqpServer({
    namespace,
    store,
    ownership: new OwnershipRegistry(),
    producers: new ProducerRegistry(),
    sasKeys,
    logger,
  });
  let health: http.Server | undefined;
  let ready = false;
  try {
    const amqpPort = await bind('amqpPort', host, options.amqpPort ?? DEFAULT_AMQP_PORT, (port) =>
      server.listenPlain(host, port),
    );
    let tlsPort: number | undefined;
    let tlsCertFile: string | undefined;
    let webSocketPort: number | undefined;
    if (options.tls || options.webSocket) {
      const tlsOptions = typeof options.tls === 'object' ? options.tls : {};
      const webSocketOptions = typeof options.webSocket === 'object' ? options.webSocket : {};
      const certificateOptions = options.tls ? tlsOptions : webSocketOptions;
      const certificate = await loadCertificate(
        {
          certFile: certificateOptions.certFile,
          keyFile: certificateOptions.keyFile,
          certDir:
            certificateOptions.certDir ??
            (dataDir ? path.join(dataDir, 'tls') : path.resolve('.data/eventhubs/tls')),
          hostNames: host === '0.0.0.0' || host === '::' ? [] : [host],
        },
        logger,
      );
      tlsCertFile = certificate.certFile;
      if (options.tls) {
        tlsPort = await bind('tlsPort', host, tlsOptions.port ?? DEFAULT_TLS_PORT, (port) =>
          server.listenTls(host, port, certificate),
        );
      }
      if (options.webSocket) {
        webSocketPort = await bind(
          'webSocketPort',
          host,
          webSocketOptions.port ?? DEFAULT_WEBSOCKET_PORT,
          (port) => server.listenWebSocket(host, port, certificate),
        );
      }
    }
    health = await bind('healthPort', host, options.healthPort ?? DEFAULT_HEALTH_PORT, (port) =>
      startHealthServer(host, port, () => ready),
    );
    const healthPort = portOf(health);

    const clientHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    // The certificate names localhost; a host bound on purpose (127.x.y.z, a LAN address) is named as is.
    const tlsHost = clientHost === '127.0.0.1' ? 'localhost' : clientHost;
    const keyPart = `SharedAccessKeyName=${sasKeys[0].name};SharedAccessKey=${sasKeys[0].key}`;
    ready = true;
    const hubs = namespace.hubs.map((hub) => `${hub.name} (${hub.partitionCount} partitions)`).join(', ');
    logger.info(
      `Event Hubs emulator ready: AMQP ${host}:${amqpPort}` +
        (tlsPort ? `, AMQPS ${host}:${tlsPort}` : '') +
        (webSocketPort ? `, AMQP over WebSockets (wss and ws) ${host}:${webSocketPort}` : '') +
        `, health http://${clientHost}:${healthPort}/health; namespace ${namespace.name}; hubs: ${hubs}` +
        (dataDir ? `; data in ${dataDir}` : '; in memory'),
    );
    let stopping: Promise<void> | undefined;
    return {
      host,
      amqpPort,
      healthPort,
      tlsPort,
      webSocketPort,
      tlsCertFile,
      namespace,
      connectionString: `Endpoint=sb://${clientHost}:${amqpPort};${keyPart};UseDevelopmentEmulator=true;`,
      tlsConnectionString: tlsPort ? `Endpoint=sb://${tlsHost}:${tlsPort};${keyPart};` : undefined,
      webSocketConnectionString: webSocketPort
        ? `Endpoint=sb://${tlsHost}:${webSocketPort};${keyPart};UseDevelopmentEmulator=true;`
        : undefined,
      stop: () => {
        stopping ??= (async () => {
          ready = false;
          await server.close();
          await store.close();
          if (health) await closeServer(health);
          logger.info('Event Hubs emulator stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    await server.close();
    if (health) await closeServer(health);
    await store.close();
    throw error;
  }
}

async function bind<T>(
  option: PortOption,
  host: string,
  port: number,
  start: (port: number) => Promise<T>,
): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    if (error instanceof PortInUseError) throw new EmulatorPortInUseError(option, host, port);
    throw error;
  }
}

function portOf(server: http.Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function describePort(option: PortOption): string {
  return {
    amqpPort: 'AMQP port',
    healthPort: 'health port',
    tlsPort: 'TLS (AMQPS) port',
    webSocketPort: 'WebSocket port',
  }[option];
}
