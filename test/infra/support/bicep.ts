// Finds the real Bicep compiler and runs it for the infra tests. Looked for, in order: the pinned copy
// that scripts/install-bicep.sh restores into .tools/bicep, `bicep` on PATH, and the copy that
// `az bicep install` keeps in ~/.azure/bin.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from '../../support/tempDir';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const infraDir = path.join(repoRoot, 'infra');

export interface BicepCompiler {
  path: string;
  version: string;
  origin: string;
}

export interface BicepRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function findBicep(): BicepCompiler | undefined {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => ({ path: path.join(dir, 'bicep'), origin: 'bicep on PATH' }));
  const candidates = [
    {
      path: path.join(repoRoot, '.tools', 'bicep', 'bicep'),
      origin: '.tools/bicep (scripts/install-bicep.sh)',
    },
    ...onPath,
    { path: path.join(os.homedir(), '.azure', 'bin', 'bicep'), origin: '~/.azure/bin (az bicep install)' },
  ];
  for (const candidate of candidates) {
    if (!isExecutable(candidate.path)) continue;
    const run = spawnSync(candidate.path, ['--version'], { encoding: 'utf8', timeout: 60_000 });
    const version = /Bicep CLI version (\d+\.\d+\.\d+)/.exec(run.stdout ?? '')?.[1];
    if (run.status === 0 && version !== undefined) return { ...candidate, version };
  }
  return undefined;
}

export function runBicep(
  compiler: BicepCompiler,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): BicepRun {
  const run = spawnSync(compiler.path, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Diagnostics of a `--diagnostics-format sarif` run (written to stderr), one readable line each. */
export function sarifDiagnostics(stderr: string): string[] {
  const start = stderr.indexOf('{');
  if (start < 0) return stderr.trim() === '' ? [] : [stderr.trim()];
  const sarif = JSON.parse(stderr.slice(start)) as {
    runs: Array<{ results: SarifResult[] }>;
  };
  return sarif.runs.flatMap((run) =>
    run.results.map((result) => {
      const location = result.locations?.[0]?.physicalLocation;
      const file = location?.artifactLocation?.uri?.replace(/^file:\/\//, '') ?? '?';
      return `${result.level ?? 'warning'} ${result.ruleId} at ${path.basename(file)}:${location?.region?.startLine ?? '?'}: ${result.message.text}`;
    }),
  );
}

interface SarifResult {
  ruleId: string;
  level?: string;
  message: { text: string };
  locations?: Array<{
    physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } };
  }>;
}

/** A throwaway copy of infra/ (bicepconfig.json included), so compiler outputs never land in the repo. */
export function copyInfra(): string {
  const dir = path.join(tempDir('infra-test').path, 'infra');
  cpSync(infraDir, dir, { recursive: true });
  return dir;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
