// The local Event Hubs explorer that `npm start` serves: a page on 127.0.0.1 showing the hub and its
// partitions, events, the send form (through the app's POST /api/events), checkpoints, dead letters
// and the consumer's log, live. It reads the emulator (or Azure) through the Event Hubs SDK, storage
// through the blob client, and the host's log through the lines the stack already splits. Local
// only: under local/, never deployed (.funcignore).
import type { Subscription } from '@azure/event-hubs';
import type { Server } from 'node:http';
import { readConsumerSettings, type ConsumerSettings, type Environment } from '../../src/lib/settings';
import { isPortFree, PortConflictError } from '../stack/ports';
import type {
  ActionResult,
  CheckpointView,
  DeadLetterView,
  Overview,
  PartitionView,
  SendResult,
  StartPosition,
  StatusView,
} from './api';
import { bundlePage } from './bundle';
import { EXPLORER_CONSUMER_GROUP, ExplorerError, HubReader } from './hub';
import { ExplorerOperations } from './operations';
import { LogFeed } from './logFeed';
import { Metrics } from './metrics';
import { operationsEnvironment } from '../../scripts/lib/operations';
import { EXPLORER_PORT_SETTING, explorerPort } from './options';
import { parseSendRequest, sendThroughApp } from './send';
import { listenExplorer, type ExplorerBackend } from './server';
import { EventStream } from './stream';

export { LogFeed } from './logFeed';

const POLL_MS = 1_000;

export interface ExplorerOptions {
  /** local.settings.json: the app's settings (hub, consumer group, connections, dead-letter container). */
  settingsFile: string;
  /** The Functions host's HTTP port, from which the default port derives (see options.ts). */
  hostPort: number;
  /** `--explorer-port`; 0 = any free port. */
  port?: number;
  /** False when the host's output does not pass through the stack (Core Tools). */
  logAvailable?: boolean;
}

export interface RunningExplorer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Checked before anything starts, as the other ports are; then fed the host's lines from its first one. */
export interface PreparedExplorer {
  hostLine(line: string): void;
  /** After the host is up: `publishUrl` is the app's POST /api/events. */
  start(publishUrl: string): Promise<RunningExplorer>;
}

export async function prepareExplorer(options: ExplorerOptions): Promise<PreparedExplorer> {
  // The settings as `npm run dead-letters` and `npm run checkpoints` read them: the file, the shell on top.
  const env = operationsEnvironment({ settingsFile: options.settingsFile });
  const port = explorerPort(options.port, env, options.hostPort);
  if (port !== 0 && !(await isPortFree('127.0.0.1', port))) {
    throw new PortConflictError(
      `Port ${port} (the explorer) is in use by another program. Free it, or run npm start -- --explorer-port <port> ` +
        `(or set ${EXPLORER_PORT_SETTING} in local.settings.json Values; 0 picks a free port).`,
    );
  }
  const feed = new LogFeed();
  return {
    hostLine: (line) => feed.push(line),
    start: (publishUrl) => startExplorer(env, feed, port, publishUrl, options.logAvailable ?? true),
  };
}

async function startExplorer(
  env: Environment,
  feed: LogFeed,
  port: number,
  publishUrl: string,
  logAvailable: boolean,
): Promise<RunningExplorer> {
  const assets = await bundlePage();
  const explorer = new Explorer(env, feed, publishUrl, logAvailable);
  let listening: { server: Server; port: number };
  try {
    listening = await listenExplorer(explorer, assets, port);
  } catch (error) {
    await explorer.close();
    throw error;
  }
  explorer.startPolling();
  return {
    url: `http://127.0.0.1:${listening.port}/`,
    port: listening.port,
    close: async () => {
      await explorer.close();
      listening.server.closeAllConnections();
      await new Promise((resolve) => listening.server.close(resolve));
    },
  };
}

class Explorer implements ExplorerBackend {
  readonly stream: EventStream;
  private readonly hub: HubReader;
  private readonly operations: ExplorerOperations;
  private readonly feed: LogFeed;
  private readonly recentMetrics = new Metrics();
  private readonly settings: ConsumerSettings;
  private readonly publishUrl: string;
  private readonly logAvailable: boolean;
  private readonly unsubscribeFeed: () => void;
  private partitionIds: Promise<string[]> | undefined;
  private currentStatus: StatusView = { eventHubs: { ok: false, message: 'connecting' } };
  private pollTimer: NodeJS.Timeout | undefined;
  private live: Subscription | undefined;
  private closed = false;

  constructor(env: Environment, feed: LogFeed, publishUrl: string, logAvailable: boolean) {
    this.settings = readConsumerSettings(env);
    this.hub = new HubReader(env);
    this.operations = new ExplorerOperations(env);
    this.feed = feed;
    this.publishUrl = publishUrl;
    this.logAvailable = logAvailable;
    this.stream = new EventStream((count) => this.watchers(count));
    for (const entry of feed.since()) this.recentMetrics.countLogEntry(entry);
    this.unsubscribeFeed = feed.subscribe((entry) => {
      this.recentMetrics.countLogEntry(entry);
      this.stream.append('log', [entry]);
    });
  }

  async overview(): Promise<Overview> {
    const hub = await this.hub.hub();
    return {
      namespace: this.hub.namespace,
      eventHubName: this.hub.eventHubName,
      consumerGroup: this.settings.consumerGroup,
      explorerConsumerGroup: EXPLORER_CONSUMER_GROUP,
      createdOn: hub.createdOn,
      partitionIds: hub.partitionIds,
      publishUrl: this.publishUrl,
      deadLetterContainer: this.settings.deadLetterContainer,
      logAvailable: this.logAvailable,
    };
  }

  async partitions(): Promise<PartitionView[]> {
    return this.hub.partitions(await this.knownPartitionIds());
  }

  async peek(partitionId: string, from: StartPosition, count: number) {
    if (!(await this.knownPartitionIds()).includes(partitionId))
      throw new ExplorerError(
        404,
        'unknown_partition',
        `Hub '${this.hub.eventHubName}' has no partition '${partitionId}'`,
      );
    return this.hub.peek(partitionId, from, count);
  }

  log(afterId: number) {
    return this.feed.since(afterId);
  }

  metrics() {
    return this.recentMetrics.history();
  }

  status(): StatusView {
    return this.currentStatus;
  }

  checkpoints(): Promise<CheckpointView[]> {
    return this.operations.checkpoints();
  }

  deadLetters(): Promise<DeadLetterView[]> {
    return this.operations.deadLetters();
  }

  async send(body: unknown): Promise<SendResult> {
    return sendThroughApp(this.publishUrl, parseSendRequest(body));
  }

  replay(blob: string): Promise<ActionResult> {
    return this.operations.replay(blob);
  }

  remove(blob: string): Promise<ActionResult> {
    return this.operations.remove(blob);
  }

  startPolling(): void {
    const tick = async () => {
      try {
        const partitions = await this.partitions();
        this.stream.set('partitions', partitions);
        this.stream.set('metrics', this.recentMetrics.sample(partitions));
        this.setStatus({ eventHubs: { ok: true, message: 'connected' } });
      } catch (error) {
        this.partitionIds = undefined;
        this.setStatus({ eventHubs: { ok: false, message: `unreachable: ${(error as Error).message}` } });
      }
      if (!this.closed) this.pollTimer = setTimeout(tick, POLL_MS);
    };
    void tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    this.unsubscribeFeed();
    this.stream.close();
    await this.live?.close().catch(() => undefined);
    this.live = undefined;
    await Promise.all(
      [this.hub.close(), this.operations.close()].map((closing) => closing.catch(() => undefined)),
    );
  }

  private knownPartitionIds(): Promise<string[]> {
    this.partitionIds ??= this.hub.hub().then(
      (hub) => hub.partitionIds,
      (error: unknown) => {
        this.partitionIds = undefined;
        throw error;
      },
    );
    return this.partitionIds;
  }

  private setStatus(status: StatusView): void {
    this.currentStatus = status;
    this.stream.set('status', status);
  }

  /** New events are received only while a page is watching. */
  private watchers(count: number): void {
    if (this.closed) return;
    if (count > 0 && !this.live) {
      this.live = this.hub.live((events) => this.stream.append('events', events));
      this.stream.set('status', this.currentStatus);
    } else if (count === 0 && this.live) {
      const live = this.live;
      this.live = undefined;
      void live.close().catch(() => undefined);
    }
  }
}
