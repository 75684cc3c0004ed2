// Azurite and the Event Hubs emulator for `npm start`: reuse one that already answers on the
// configured port, start one when the ports are free, and otherwise say which port is taken and
// which setting moves it.
import { EventHubConsumerClient, latestEventPosition, type Subscription } from '@azure/event-hubs';
import path from 'node:path';
import { DEFAULT_TLS_PORT } from '@local/eventhubs-emulator/defaults';
import { SETTING_NAMES } from '../../src/lib/settings';
import { DEV_ACCOUNT_NAME, startAzurite } from '../azurite';
import { type ChildOptions } from './childProcess';
import { type EventHubsTarget, SETTINGS_FILE, type StorageTarget } from './localSettings';
import { isPortFree, PortConflictError, probeHttp } from './ports';
import { startEmulatorProcess } from './processes';

export interface Service {
  description: string;
  reused: boolean;
  stop(): Promise<void>;
  /** SIGKILL what this stack started; a reused service is left alone. */
  kill(): void;
}

const NOTHING_TO_STOP = async () => {};
const NOTHING_TO_KILL = () => {};

export async function ensureAzurite(
  target: Extract<StorageTarget, { kind: 'azurite' }>,
  dataDir: string,
): Promise<Service> {
  const { host, ports } = target;
  const where = `${host}:${ports.blob}`;
  const probe = await probeHttp(`http://${host}:${ports.blob}/${DEV_ACCOUNT_NAME}?comp=list`);
  if (probe) {
    if (probe.headers.get('server')?.startsWith('Azurite')) {
      return {
        description: `Azurite at ${where} (already running; reused)`,
        reused: true,
        stop: NOTHING_TO_STOP,
        kill: NOTHING_TO_KILL,
      };
    }
    throw new PortConflictError(
      `Port ${ports.blob} (Azurite's blob port) answers, but not as Azurite. Stop what listens there, or run ` +
        `Azurite elsewhere and point ${SETTING_NAMES.storageConnection} in ${SETTINGS_FILE} at it (BlobEndpoint=http://127.0.0.1:<port>/devstoreaccount1;...).`,
    );
  }
  for (const [service, port] of Object.entries(ports)) {
    if (!(await isPortFree(host, port))) {
      throw new PortConflictError(
        `Port ${port} (Azurite's ${service} port) is in use by another program. Free it, or use other Azurite ports ` +
          `through ${SETTING_NAMES.storageConnection} in ${SETTINGS_FILE} (an Azurite connection string with ${capitalize(service)}Endpoint=http://127.0.0.1:<port>/devstoreaccount1).`,
      );
    }
  }
  const azurite = await startAzurite({
    location: dataDir,
    host,
    blobPort: ports.blob,
    queuePort: ports.queue,
    tablePort: ports.table,
    detached: true,
    // Python's checkpoint store sends x-ms-encryption-algorithm, which strict Azurite refuses.
    loose: true,
  });
  return {
    description: `Azurite at ${where} (started; data in ${path.relative(process.cwd(), dataDir) || dataDir})`,
    reused: false,
    stop: () => azurite.stop(),
    kill: () => azurite.kill(),
  };
}

export interface EmulatorService extends Service {
  connectionString?: string;
  /** How other clients connect: connection strings per SDK and the certificate to trust. */
  clientLines: string[];
}

const TLS_CERT_FILE = path.join('tls', 'eventhubs-emulator-cert.pem');

function clientLines(amqpPort: number, tlsPort: number, certFile: string): string[] {
  const key = 'SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE';
  return [
    `JavaScript and .NET (plain AMQP): Endpoint=sb://localhost:${amqpPort};${key};UseDevelopmentEmulator=true;`,
    `Python (TLS on ${tlsPort}): Endpoint=sb://localhost;${key};  with connection_verify="${certFile}"`,
    `CA file to trust (generated once, reused): ${certFile}`,
  ];
}

/** The WebSocket form of each SDK (local/emulator/README.md, "AMQP over WebSockets"). */
function webSocketLines(webSocketPort: number): string[] {
  const key = 'SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE';
  return [
    `AMQP over WebSockets (every SDK): Endpoint=sb://localhost:${webSocketPort};${key};UseDevelopmentEmulator=true;`,
    `  with JavaScript webSocketOptions: { webSocket: WebSocket } (the ws package), Python ` +
      `custom_endpoint_address="sb://localhost:${webSocketPort}", .NET TransportType = AmqpWebSockets`,
  ];
}

export async function ensureEmulator(
  target: Extract<EventHubsTarget, { kind: 'emulator' }>,
  options: {
    healthPort: number;
    /** Default 5671, the port Python dials; 0 picks a free one (tests). */
    tlsPort?: number;
    /** Also serve AMQP over WebSockets on this port (a reused emulator is taken as it is). */
    webSocketPort?: number;
    eventHubName: string;
    consumerGroup: string;
    dataDir: string;
    connectionString: string;
    child: Omit<ChildOptions, 'args'>;
  },
): Promise<EmulatorService> {
  const { host, amqpPort } = target;
  const tlsPort = options.tlsPort ?? DEFAULT_TLS_PORT;
  const health = await probeHttp(`http://${host}:${options.healthPort}/health`);
  const amqpFree = await isPortFree(host, amqpPort);
  if (health && !amqpFree) {
    await checkHubAndConsumerGroup(
      options.connectionString,
      options.eventHubName,
      options.consumerGroup,
      amqpPort,
    );
    return {
      description: `Event Hubs emulator at ${host}:${amqpPort} (already running; reused)`,
      clientLines: clientLines(amqpPort, tlsPort, path.join(options.dataDir, TLS_CERT_FILE)),
      reused: true,
      stop: NOTHING_TO_STOP,
      kill: NOTHING_TO_KILL,
    };
  }
  if (!amqpFree) {
    throw new PortConflictError(
      `Port ${amqpPort} (Event Hubs AMQP) is in use by something that is not the Event Hubs emulator (no health ` +
        `endpoint on port ${options.healthPort}). Free it, or choose another port in the Endpoint of ${SETTING_NAMES.eventHubConnection} ` +
        `in ${SETTINGS_FILE} (Endpoint=sb://localhost:<port>;...).`,
    );
  }
  if (!(await isPortFree(host, options.healthPort))) {
    throw new PortConflictError(
      `Port ${options.healthPort} (the Event Hubs emulator's health endpoint) is in use. Free it, or start with ` +
        `npm start -- --emulator-health-port <port>.`,
    );
  }
  if (tlsPort !== 0 && !(await isPortFree(host, tlsPort))) {
    throw new PortConflictError(
      `Port ${tlsPort} (the Event Hubs emulator's AMQP over TLS, which Python's azure-eventhub always dials) ` +
        `is in use. Free it, or start with npm start -- --emulator-tls-port <port> (Python then needs a custom endpoint).`,
    );
  }
  const groups = options.consumerGroup.toLowerCase() === '$default' ? [] : [options.consumerGroup];
  const emulator = await startEmulatorProcess({
    amqpPort,
    healthPort: options.healthPort,
    hub: { name: options.eventHubName, consumerGroups: groups },
    dataDir: options.dataDir,
    // TLS next to plain AMQP, with the certificate generated once into <data-dir>/tls and reused.
    extraArgs: [
      '--tls-port',
      String(tlsPort),
      ...(options.webSocketPort === undefined ? [] : ['--websocket-port', String(options.webSocketPort)]),
    ],
    child: options.child,
  });
  return {
    description:
      `Event Hubs emulator at ${host}:${amqpPort}, hub '${options.eventHubName}', consumer group ` +
      `'${options.consumerGroup}' (started; data in ${path.relative(process.cwd(), options.dataDir) || options.dataDir})`,
    reused: false,
    connectionString: emulator.connectionString,
    clientLines: [
      ...clientLines(amqpPort, tlsPort, path.join(options.dataDir, TLS_CERT_FILE)),
      ...(options.webSocketPort === undefined ? [] : webSocketLines(options.webSocketPort)),
    ],
    stop: () => emulator.stop(),
    kill: () => emulator.child.process.kill('SIGKILL'),
  };
}

/** A reused emulator may have been started with other hubs or consumer groups: fail early with the fix. */
async function checkHubAndConsumerGroup(
  connectionString: string,
  eventHubName: string,
  consumerGroup: string,
  port: number,
): Promise<void> {
  const client = new EventHubConsumerClient(consumerGroup, connectionString, eventHubName, {
    retryOptions: { maxRetries: 0, timeoutInMs: 5000 },
  });
  const fix = 'Stop it so that npm start can start one with them, or add them to its configuration.';
  try {
    let partitionIds: string[];
    try {
      partitionIds = await client.getPartitionIds();
    } catch (error) {
      throw new PortConflictError(
        `The Event Hubs emulator already running on port ${port} does not serve hub '${eventHubName}' ` +
          `(${(error as Error).message}). ${fix}`,
      );
    }
    await receiverAttaches(client, partitionIds[0]).catch((error: Error) => {
      throw new PortConflictError(
        `The Event Hubs emulator already running on port ${port} has no consumer group '${consumerGroup}' ` +
          `in hub '${eventHubName}' (${error.message}). ${fix}`,
      );
    });
  } finally {
    await client.close();
  }
}

/**
 * Consumer groups are checked when a receiver attaches: a first (empty) batch means it did. Only "not
 * found" counts against the group; a refusal for another reason (the host of a running stack already
 * reads this partition with an owner level) means the group exists.
 */
async function receiverAttaches(client: EventHubConsumerClient, partitionId: string): Promise<void> {
  let subscription: Subscription | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      subscription = client.subscribe(
        partitionId,
        {
          processEvents: async () => resolve(),
          processError: async (error) =>
            (error as { code?: string }).code === 'MessagingEntityNotFoundError' ? reject(error) : resolve(),
        },
        { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1 },
      );
    });
  } finally {
    await subscription?.close();
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
