// All partitions of all hubs, in memory and optionally persisted under a data directory:
//   <dataDir>/.lock                                    pid of the emulator using the directory
//   <dataDir>/hubs/<hub>/hub.json                      creation time of the hub
//   <dataDir>/hubs/<hub>/partitions/<id>/<seq>.seg     segment files (see segmentFormat.ts)
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type HubConfig, type NamespaceConfig } from '../config';
import { type Logger } from '../logger';
import { Partition } from './partition';
import { PartitionLog } from './partitionLog';
import { SegmentFiles } from './segmentFiles';

export interface RetentionOptions {
  /** Events older than this are dropped. */
  retentionMs: number;
  /** Per partition: the oldest events are dropped beyond this many bytes. */
  retentionBytes: number;
  /** The current time in ms: enqueued times and the retention cutoff follow it. */
  now: () => number;
}

export interface Hub {
  config: HubConfig;
  createdAtMs: number;
  partitions: Partition[];
}

export class EventStore {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  private constructor(
    readonly hubs: Map<string, Hub>,
    private readonly retention: RetentionOptions,
    private readonly logger: Logger,
    private readonly lockFile: string | undefined,
  ) {}

  static async open(
    namespace: NamespaceConfig,
    retention: RetentionOptions,
    dataDir: string | undefined,
    logger: Logger,
  ): Promise<EventStore> {
    const lockFile = dataDir ? acquireLock(dataDir) : undefined;
    const hubs = new Map<string, Hub>();
    try {
      for (const config of namespace.hubs) {
        hubs.set(config.name.toLowerCase(), await openHub(config, retention, dataDir, logger));
      }
    } catch (error) {
      for (const hub of hubs.values()) await Promise.all(hub.partitions.map((p) => p.close()));
      if (lockFile) rmSync(lockFile, { force: true });
      throw error;
    }
    const store = new EventStore(hubs, retention, logger, lockFile);
    store.sweep();
    const interval = Math.min(5000, Math.max(100, Math.floor(retention.retentionMs / 10)));
    store.timer = setInterval(() => store.sweep(), interval);
    store.timer.unref();
    return store;
  }

  hub(name: string): Hub | undefined {
    return this.hubs.get(name.toLowerCase());
  }

  /** Applies time retention and deletes emptied segment files. */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    const cutoff = this.retention.now() - this.retention.retentionMs;
    this.sweeping = (async () => {
      for (const hub of this.hubs.values()) {
        for (const partition of hub.partitions) {
          partition.log.trimBefore(cutoff);
          await partition.deleteExpiredSegments().catch((error: Error) => {
            this.logger.warn(
              `retention: cannot delete old segments of ${hub.config.name}/${partition.id}: ${error.message}`,
            );
          });
        }
      }
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Waits for pending writes, then closes files and releases the data directory. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    for (const hub of this.hubs.values())
      await Promise.all(hub.partitions.map((partition) => partition.close()));
    if (this.lockFile) rmSync(this.lockFile, { force: true });
  }
}

async function openHub(
  config: HubConfig,
  retention: RetentionOptions,
  dataDir: string | undefined,
  logger: Logger,
): Promise<Hub> {
  const partitionIds = Array.from({ length: config.partitionCount }, (_, i) => String(i));
  if (!dataDir) {
    return {
      config,
      createdAtMs: Date.now(),
      partitions: partitionIds.map(
        (id) =>
          new Partition(
            new PartitionLog(config.name, id, retention.retentionBytes, logger),
            undefined,
            retention.now,
          ),
      ),
    };
  }
  const hubDir = path.join(dataDir, 'hubs', config.name.toLowerCase());
  await mkdir(hubDir, { recursive: true });
  const createdAtMs = await hubCreationTime(path.join(hubDir, 'hub.json'));
  // Segments hold a fraction of the cap so retention can free space in small steps.
  const segmentBytes = Math.max(1 << 20, Math.min(64 << 20, Math.floor(retention.retentionBytes / 4)));
  const cutoff = retention.now() - retention.retentionMs;
  const partitions: Partition[] = [];
  for (const id of partitionIds) {
    const { files, recovered } = await SegmentFiles.open(
      path.join(hubDir, 'partitions', id),
      segmentBytes,
      { maxBytes: retention.retentionBytes, cutoffMs: cutoff },
      logger,
    );
    const log = new PartitionLog(
      config.name,
      id,
      retention.retentionBytes,
      logger,
      recovered.state,
      recovered.lastOffset,
    );
    log.restore(recovered.events);
    log.trimBefore(cutoff);
    if (recovered.state.nextSequenceNumber > 0) {
      logger.info(
        `recovered ${config.name}/${id}: ${log.size} events retained, next sequence number ${log.nextSequenceNumber}`,
      );
    }
    partitions.push(new Partition(log, files, retention.now));
  }
  return { config, createdAtMs, partitions };
}

async function hubCreationTime(file: string): Promise<number> {
  try {
    const createdAtMs = (JSON.parse(await readFile(file, 'utf8')) as { createdAtMs?: unknown }).createdAtMs;
    if (typeof createdAtMs === 'number') return createdAtMs;
  } catch {
    // first start with this hub
  }
  const createdAtMs = Date.now();
  await writeFile(file, JSON.stringify({ createdAtMs }) + '\n');
  return createdAtMs;
}

function acquireLock(dataDir: string): string {
  const lockFile = path.join(dataDir, '.lock');
  mkdirSync(dataDir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return lockFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(lockFile, 'utf8').trim());
      if (pid && isAlive(pid)) {
        throw new Error(
          `the data directory ${dataDir} is in use by another emulator (pid ${pid}); stop it or choose another --data-dir`,
        );
      }
      rmSync(lockFile, { force: true }); // left behind by a process that no longer runs
    }
  }
  throw new Error(`cannot lock the data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
