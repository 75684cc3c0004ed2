// Starts Azurite (the storage emulator from the `azurite` npm package) as a child process.
// A separate process, as users run it, so tests exercise real HTTP on real sockets. It stops by
// itself when the process that started it goes away (EXIT_WITH_PARENT).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { EXIT_WITH_PARENT } from './stack/childProcess';
import { stopChild } from './stopChild';

/** Azurite's documented development account; a well-known public value, not a secret. */
export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const DEFAULT_PORTS = { blob: 10000, queue: 10001, table: 10002 } as const;

export interface AzuriteOptions {
  /** Folder for Azurite's data; created if missing. */
  location: string;
  host?: string;
  /** 0 picks a free port. Defaults to Azurite's well-known ports. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** Maximum time to wait for all services to listen. */
  startTimeoutMs?: number;
  /** Own process group, so a terminal's Ctrl-C reaches only the parent, which stops Azurite last. */
  detached?: boolean;
  /** Azurite's --loose: ignore headers it does not implement (Python's checkpoint store sends some). */
  loose?: boolean;
}

export interface RunningAzurite {
  host: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  /** A connection string for this instance (equals `UseDevelopmentStorage=true` on the default ports). */
  connectionString: string;
  stop(): Promise<void>;
  /** SIGKILL, for when waiting is not an option (a second Ctrl-C). */
  kill(): void;
}

const LISTEN_LINE =
  /Azurite (Blob|Queue|Table) service (?:is )?successfully listen(?:s|ing) (?:on|at) https?:\/\/[^:]+:(\d+)/g;

export function azuriteConnectionString(host: string, ports: { blob: number; queue: number; table: number }) {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};` +
    `BlobEndpoint=http://${host}:${ports.blob}/${DEV_ACCOUNT_NAME};` +
    `QueueEndpoint=http://${host}:${ports.queue}/${DEV_ACCOUNT_NAME};` +
    `TableEndpoint=http://${host}:${ports.table}/${DEV_ACCOUNT_NAME};`
  );
}

export async function startAzurite(options: AzuriteOptions): Promise<RunningAzurite> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.location, { recursive: true });
  const args = [
    ...EXIT_WITH_PARENT,
    require.resolve('azurite/dist/src/azurite.js'),
    '--blobHost',
    host,
    '--queueHost',
    host,
    '--tableHost',
    host,
    '--blobPort',
    String(options.blobPort ?? DEFAULT_PORTS.blob),
    '--queuePort',
    String(options.queuePort ?? DEFAULT_PORTS.queue),
    '--tablePort',
    String(options.tablePort ?? DEFAULT_PORTS.table),
    '--location',
    path.resolve(options.location),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    ...(options.loose ? ['--loose'] : []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached,
  });
  const ports = await waitForPorts(child, options.startTimeoutMs ?? 30000);
  return {
    host,
    blobPort: ports.blob,
    queuePort: ports.queue,
    tablePort: ports.table,
    connectionString: azuriteConnectionString(host, ports),
    stop: () => stopChild(child, 'SIGTERM', 5000),
    kill: () => child.kill('SIGKILL'),
  };
}

function waitForPorts(child: ChildProcess, timeoutMs: number) {
  return new Promise<{ blob: number; queue: number; table: number }>((resolve, reject) => {
    const found: Record<string, number> = {};
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`Azurite did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(LISTEN_LINE)) found[match[1].toLowerCase()] = Number(match[2]);
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        // From here on nobody reads Azurite's output: drain it without keeping it (Azurite may run for days).
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onStderr);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ blob: found.blob, queue: found.queue, table: found.table });
      }
    };
    const onStderr = (chunk: Buffer) => (output += chunk.toString());
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const lastLines = output.trim().split('\n').slice(-5).join('\n');
      reject(new Error(`${error.message}${lastLines ? `\n${lastLines}` : ''}`));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onStderr);
    child.once('exit', (code) => {
      if (!(found.blob && found.queue && found.table))
        fail(new Error(`Azurite exited with code ${code} before listening`));
    });
  });
}
