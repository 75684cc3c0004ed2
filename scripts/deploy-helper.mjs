// The parts of scripts/deploy.sh that bash does badly or differently across platforms: reading JSON,
// relating npm's paths to the project (Windows npm prints C:\... even under Git Bash), sending the
// smoke event with the function key read from stdin (never from the command line), and finding the
// smoke event's line in an Application Insights query result. Plain Node.js: it runs before (and
// without) node_modules.
//
//   node scripts/deploy-helper.mjs output <name>            deployment outputs JSON on stdin
//   node scripts/deploy-helper.mjs production-packages      `npm ls --parseable` on stdin
//   node scripts/deploy-helper.mjs post-event <url> <body>  function key on stdin
//   node scripts/deploy-helper.mjs query-rows               `az monitor app-insights query` JSON on stdin
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

/* global fetch, AbortSignal */

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function fail(message) {
  process.stderr.write(`deploy-helper: ${message}\n`);
  process.exit(2);
}

/** One output of `az deployment group create --query properties.outputs -o json`. */
async function output(name) {
  const outputs = JSON.parse(await readStdin());
  if (outputs?.[name] === undefined) fail(`the deployment has no output '${name}'`);
  process.stdout.write(`${outputs[name].value}\n`);
}

/**
 * The production packages npm lists, as paths relative to the project with "/" separators: the first
 * line is the project itself as npm sees it (links resolved; C:\... from a Windows npm), the others
 * are packages. A package inside another listed package is left out: copying the outer one copies it.
 */
async function productionPackages() {
  const lines = (await readStdin())
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length === 0) fail('npm ls printed nothing');
  const [root, ...packages] = lines;
  const paths = /^[A-Za-z]:[\\/]/.test(root) || root.startsWith('\\\\') ? path.win32 : path.posix;
  const listed = packages
    .map((dir) => paths.relative(root, dir).split(paths.sep).join('/'))
    .filter((dir) => dir.startsWith('node_modules/'))
    .sort();
  const relative = withoutWorkspaces(root, paths, listed);
  const outermost = relative.filter(
    (dir, index) => !relative.slice(0, index).some((parent) => dir.startsWith(`${parent}/`)),
  );
  process.stdout.write(outermost.map((dir) => `${dir}\n`).join(''));
}

function readManifest(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error?.code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * npm ls counts the project's workspaces (local/emulator) and their dependencies as production
 * packages, and `npm ls --workspaces=false` fails (npm 11). With workspaces declared, only what the
 * project's own dependencies reach is kept, each name resolved as Node.js resolves it (the nearest
 * node_modules upwards), following dependencies, optionalDependencies and peerDependencies.
 */
function withoutWorkspaces(root, paths, listed) {
  const manifest = readManifest(paths.join(root, 'package.json'));
  if (!manifest?.workspaces) return listed;
  const installed = new Set(listed);
  const requires = (pkg) =>
    Object.keys({ ...pkg?.dependencies, ...pkg?.optionalDependencies, ...pkg?.peerDependencies });
  const resolve = (from, name) => {
    for (let dir = from; ; dir = dir.replace(/\/?(node_modules\/(@[^/]+\/)?[^/]+)?$/, '')) {
      const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
      if (installed.has(candidate)) return candidate;
      if (dir === '') return undefined;
    }
  };
  const reached = new Set();
  const pending = requires(manifest).map((name) => resolve('', name));
  while (pending.length > 0) {
    const dir = pending.pop();
    if (dir === undefined || reached.has(dir)) continue;
    reached.add(dir);
    const pkg = readManifest(paths.join(root, ...dir.split('/'), 'package.json'));
    for (const name of requires(pkg)) pending.push(resolve(dir, name));
  }
  return listed.filter((dir) => reached.has(dir));
}

/** POSTs the body with the key from stdin; prints "<status> <start of the body>", or "000 <error>". */
async function postEvent(url, body) {
  const key = (await readStdin()).trim();
  if (key === '') fail('no function key on stdin');
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'x-functions-key': key, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = (await response.text()).replace(/\s+/g, ' ').slice(0, 300);
    process.stdout.write(`${response.status} ${text}\n`);
  } catch (error) {
    process.stdout.write(`000 ${error?.cause?.code ?? error?.name ?? 'error'}: ${error?.message ?? error}\n`);
  }
}

/** The rows of the first table of an Application Insights query result, one tab-separated line each. */
async function queryRows() {
  const result = JSON.parse(await readStdin());
  const rows = result?.tables?.[0]?.rows ?? [];
  process.stdout.write(rows.map((row) => `${row.map((cell) => String(cell)).join('\t')}\n`).join(''));
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case 'output':
    await output(args[0]);
    break;
  case 'production-packages':
    await productionPackages();
    break;
  case 'post-event':
    await postEvent(args[0], args[1]);
    break;
  case 'query-rows':
    await queryRows();
    break;
  default:
    fail(`unknown command '${command ?? ''}'`);
}
