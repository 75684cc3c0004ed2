// Runs the conformance drivers (test/clients/js, test/clients/python, test/clients/dotnet) as child
// processes, as their users run them, and collects the one JSON line per scenario they print.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLIENTS_DIR = __dirname;
/** Debian's python3-azure installs azure-eventhub for the system interpreter only. */
export const PYTHON = '/usr/bin/python3';
const DOTNET_PROJECT = path.join(CLIENTS_DIR, 'dotnet');
export const DOTNET_DLL = path.join(DOTNET_PROJECT, 'bin', 'Release', 'net10.0', 'EventHubsConformance.dll');

export type ScenarioResults = Record<string, { result?: unknown; error?: unknown }>;

/** What a driver observed in one scenario; throws with the driver's error when it failed. */
export function scenarioResult(results: ScenarioResults, client: string, scenario: string) {
  const entry = results[scenario];
  if (!entry || entry.error !== undefined)
    throw new Error(`${client} ${scenario} failed: ${JSON.stringify(entry?.error ?? 'not run')}`);
  return entry.result as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Says what to install when a client is missing, instead of a cryptic failure later. */
export function checkPython(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import azure.eventhub, azure.eventhub.extensions.checkpointstoreblob'], {
      stdio: 'pipe',
    });
  } catch {
    throw new Error(
      `${PYTHON} cannot import azure.eventhub: run apt-get install -y python3-azure (as .ci/run does)`,
    );
  }
}

/** Builds the .NET driver when its binary is missing or older than its sources (.ci/run builds it first). */
export function ensureDotnetBuilt(): void {
  const sources = readdirSync(DOTNET_PROJECT).filter((name) => /\.(cs|csproj)$/.test(name));
  const newest = Math.max(...sources.map((name) => statSync(path.join(DOTNET_PROJECT, name)).mtimeMs));
  if (existsSync(DOTNET_DLL) && statSync(DOTNET_DLL).mtimeMs >= newest) return;
  execFileSync('dotnet', ['build', DOTNET_PROJECT, '-c', 'Release', '--nologo', '-v', 'quiet'], {
    stdio: 'pipe',
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
  });
}

export function runPython(script: string, plan: object): Promise<ScenarioResults> {
  return runDriver(PYTHON, [path.join(CLIENTS_DIR, 'python', script)], plan);
}

export function runJs(plan: object): Promise<ScenarioResults> {
  return runDriver(
    process.execPath,
    ['--import', 'tsx', path.join(CLIENTS_DIR, 'js', 'conformance.ts')],
    plan,
  );
}

/** `env`: more environment, e.g. SSL_CERT_FILE, the CA file .NET trusts on Linux. */
export function runDotnet(plan: object, env: NodeJS.ProcessEnv = {}): Promise<ScenarioResults> {
  return runDriver('dotnet', [DOTNET_DLL], plan, env);
}

function runDriver(
  command: string,
  args: string[],
  plan: object,
  env: NodeJS.ProcessEnv = {},
): Promise<ScenarioResults> {
  const planFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'ehemu-plan-')), 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const child = spawn(command, [...args, planFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const results: ScenarioResults = {};
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as { scenario: string; result?: unknown; error?: unknown };
        results[parsed.scenario] = parsed;
      }
      if (code !== 0) reject(new Error(`${command} exited with ${code}:\n${stdout}\n${stderr.slice(-4000)}`));
      else resolve(results);
    });
  });
}
