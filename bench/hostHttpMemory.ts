// npm run bench:host-memory - the local host's memory around large request bodies, in one run:
// CONCURRENT clients (a child process) each POST a BODY_MB body to a function that ignores it, ROUNDS
// times; the host runs in this process (started with --expose-gc) so its RSS can be read before, at
// its peak while the bodies arrive, and after a full garbage collection. Prints each figure with its
// ratio to the baseline; asserts nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHost } from '../local/host';

const CONCURRENT = 8;
const BODY_MB = 95;
const ROUNDS = 3;
const APP_ROOT = path.join(__dirname, '..', 'test', 'e2e', 'fixtures', 'hostApp');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc (npm run bench:host-memory does).');
const mb = (bytes: number) => bytes / 1024 / 1024;
const rssAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().rss;
};

/** The load runs in its own process, so its copies of the bodies do not count as the host's. */
function load(url: string): Promise<void> {
  const script = `
    const body = Buffer.alloc(${BODY_MB} * 1024 * 1024, 97);
    Promise.all(Array.from({ length: ${CONCURRENT} }, () => fetch(process.argv[1], { method: 'POST', body })
      .then((r) => { if (r.status !== 200) throw new Error('status ' + r.status); return r.text(); })))
      .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, url], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-host-memory-'));
  const settingsFile = path.join(dir, 'local.settings.json');
  writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: {} }));
  const host = await startHost({
    appRoot: APP_ROOT,
    settingsFile,
    port: 0,
    functions: ['ping'],
    logSink: { write: () => true },
  });
  try {
    const rows: { baseline: number; peak: number; after: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const baseline = rssAfterGc();
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      await load(`${host.url}/api/ping`);
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      rows.push({ baseline, peak, after: rssAfterGc() });
    }
    console.log(`Local host RSS, ${CONCURRENT} concurrent ${BODY_MB} MB bodies per round, ${ROUNDS} rounds:`);
    console.log(
      `${'round'.padEnd(8)}${'baseline'.padStart(12)}${'peak'.padStart(16)}${'after GC'.padStart(16)}`,
    );
    rows.forEach((row, i) => {
      const cell = (bytes: number) => `${mb(bytes).toFixed(0)} MB x${(bytes / row.baseline).toFixed(2)}`;
      console.log(
        `${String(i + 1).padEnd(8)}${`${mb(row.baseline).toFixed(0)} MB`.padStart(12)}${cell(row.peak).padStart(16)}${cell(row.after).padStart(16)}`,
      );
    });
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const peaks = rows.map((row) => mb(row.peak));
    const afters = rows.map((row) => mb(row.after - row.baseline));
    console.log(
      `median peak ${median([...peaks]).toFixed(0)} MB (spread ${Math.min(...peaks).toFixed(0)}-${Math.max(...peaks).toFixed(0)}); ` +
        `median growth after GC ${median([...afters]).toFixed(1)} MB (spread ${Math.min(...afters).toFixed(1)} to ${Math.max(...afters).toFixed(1)})`,
    );
  } finally {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
