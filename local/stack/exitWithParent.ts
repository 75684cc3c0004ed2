// Preloaded (`node --require`, see EXIT_WITH_PARENT in childProcess.ts) into every child that npm
// start, the tests and the benchmarks start. The child's stdin is a pipe from the parent, and the pipe
// closes when the parent is gone, however it ended: kill -9, a closed terminal, a crash. The child then
// stops as on SIGTERM (its own graceful shutdown), so nothing stays behind holding ports, partitions
// or data files; if that shutdown hangs, it exits anyway.
// Plain JavaScript syntax on purpose: Node loads it without tsx, so Azurite (plain JavaScript) starts
// without a TypeScript loader in it; tsc still type-checks it.
const PARENT_GONE_GRACE_MS = 20_000;

let parentGoneSeen = false;
const parentGone = () => {
  if (parentGoneSeen) return;
  parentGoneSeen = true;
  setTimeout(() => process.exit(1), PARENT_GONE_GRACE_MS).unref();
  process.kill(process.pid, 'SIGTERM');
};

// Node also runs preloads in the thread of `--import` loader hooks (tsx), whose stdin is not the pipe.
// eslint-disable-next-line @typescript-eslint/no-require-imports
if (require('node:worker_threads').isMainThread) {
  process.stdin.on('data', () => {});
  process.stdin.once('end', parentGone);
  process.stdin.once('error', parentGone);
  // Watching must not keep a child alive that is done.
  process.stdin.unref();
}
