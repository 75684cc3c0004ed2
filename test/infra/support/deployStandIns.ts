// Azure for scripts/deploy.sh, played by stand-ins because Azure cannot be reached from here: `az`
// and `func` executables first on PATH that answer like a signed-in CLI and Core Tools (their replies
// steered per test through environment variables), and the deployed app's endpoint as an HTTP server
// on 127.0.0.1 whose answers each test lists. The `az monitor app-insights query` stand-in answers with
// the consumer's EventProcessed line for the smoke event the server received, so the script's proof
// runs end to end. Every stand-in records its arguments, so tests can check what was asked and that
// the function key never appeared on a command line.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './bicep';

export const FUNCTION_KEY = 'stand-in-function-key-7f3a9c';
export const SUBSCRIPTION_ID = '00000000-0000-0000-0000-00000000aaaa';
export const FUNCTION_APP = 'func-demo-abcd1234';

/** What Core Tools prints for each failure a first publish can meet (strings from its sources). */
export const PUBLISH_FAILURES = {
  // PublishHelper.CheckResponseStatusAsync on the upload while the package role propagates.
  forbidden: 'Uploading archive...\nError uploading archive (Forbidden). AuthorizationPermissionMismatch',
  // AzureHelper.GetFunctionApp while Azure Resource Graph does not list the new app yet.
  resourceGraph: `Can't find app with name "${FUNCTION_APP}"`,
  // PublishFunctionAppAction.PerformFlexDeployment after CheckFunctionHostStatusForFlex failed.
  unhealthy: 'Deployment was successful but the app appears to be unhealthy, please check the app logs.',
  // A failure no waiting fixes.
  permanent:
    "Your Azure Function App has 'FUNCTIONS_WORKER_RUNTIME' set to 'python' while your local project is set to 'node'.",
} as const;
export type PublishFailure = keyof typeof PUBLISH_FAILURES;

export interface Received {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Scenario {
  /** Failures of the first publishes, in order; the next publish succeeds. */
  publishFailures?: PublishFailure[];
  /** Function-list answers that are still empty before the functions appear. */
  emptyFunctionLists?: number;
  /** HTTP statuses the endpoint answers before 202. */
  endpointStatuses?: number[];
  /** Application Insights answers without the smoke line before it appears. */
  emptyQueries?: number;
  /** `func --version`. */
  coreToolsVersion?: string;
  /** Print npm's paths as a Windows npm does under Git Bash (C:\..., CRLF). */
  windowsNpm?: boolean;
  /** Extra arguments for deploy.sh. */
  args?: string[];
  /** Run under `bash -x`. */
  xtrace?: boolean;
}

/**
 * A throwaway project with the real scripts/, a prebuilt dist/ and one production package, so runs
 * take seconds: `npm` is a stand-in too here (the real build and staging run in deployFlow.test.ts).
 */
/**
 * The checkout's node_modules as a copy of hard links (a second or so): npm resolves the
 * workspace link relative to the copy, which a symlinked node_modules defeats. Where hard links
 * cannot be made (another file system), a real copy.
 */
function copyInstall(from: string, to: string): void {
  try {
    execFileSync('cp', ['-al', from, to], { stdio: 'ignore' });
  } catch {
    rmSync(to, { recursive: true, force: true });
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

export class DeployStandIns {
  readonly received: Received[] = [];
  private statuses: number[] = [];

  endpoint = '';
  private readonly server: Server = createServer((request, response) => this.handle(request, response));

  private constructor(
    readonly tmp: string,
    readonly project: string,
    readonly log: string,
    private readonly bin: string,
  ) {}

  /**
   * realProject: a copy of the project's sources with the checkout's node_modules linked in, built and
   * staged for real by the real npm; otherwise a prebuilt stand-in project (seconds per run).
   */
  static async create(options: { realProject?: boolean } = {}): Promise<DeployStandIns> {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'deploy-stand-ins-'));
    const project = path.join(tmp, 'project');
    const log = path.join(tmp, 'log');
    const bin = path.join(tmp, 'bin');
    for (const dir of [project, log, bin]) mkdirSync(dir);
    if (options.realProject) {
      const entries = [
        'src',
        'scripts',
        'infra',
        'host.json',
        'package.json',
        'package-lock.json',
        'tsconfig.json',
        '.funcignore',
      ];
      for (const entry of entries)
        cpSync(path.join(repoRoot, entry), path.join(project, entry), { recursive: true });
      // The emulator's workspace, so the install's link to it resolves as in the checkout (npm ls
      // checks it); the staging must still leave it out.
      cpSync(path.join(repoRoot, 'local', 'emulator'), path.join(project, 'local', 'emulator'), {
        recursive: true,
        filter: (source) => !source.includes(`${path.sep}node_modules`),
      });
      copyInstall(path.join(repoRoot, 'node_modules'), path.join(project, 'node_modules'));
    } else {
      cpSync(path.join(repoRoot, 'scripts'), path.join(project, 'scripts'), { recursive: true });
      for (const file of ['host.json', 'package.json', '.funcignore']) {
        cpSync(path.join(repoRoot, file), path.join(project, file));
      }
      mkdirSync(path.join(project, 'infra'));
      writeFileSync(path.join(project, 'infra', 'main.bicepparam'), "using 'main.bicep'\n");
      mkdirSync(path.join(project, 'dist', 'src', 'functions'), { recursive: true });
      writeFileSync(path.join(project, 'dist', 'src', 'functions', 'publishEvents.js'), '// built\n');
      const dependency = path.join(project, 'node_modules', '@azure', 'functions');
      mkdirSync(dependency, { recursive: true });
      writeFileSync(path.join(dependency, 'package.json'), '{"version":"4.16.5"}\n');
    }

    const stands = new DeployStandIns(tmp, project, log, bin);
    await new Promise<void>((resolve) => stands.server.listen(0, '127.0.0.1', resolve));
    stands.endpoint = `http://127.0.0.1:${(stands.server.address() as AddressInfo).port}/api/events`;
    stands.writeStandIns(!options.realProject);
    return stands;
  }

  /** The deployed app's endpoint: records each request, answers the next listed status (then 202). */
  private handle(request: IncomingMessage, response: ServerResponse): void {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      this.received.push({ method: request.method, url: request.url, headers: request.headers, body });
      const status = this.statuses.shift() ?? 202;
      if (status === 202) writeFileSync(path.join(this.log, 'accepted-body'), body);
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(status === 202 ? '{"accepted":1,"batches":1}' : '{"error":"stand-in refusal"}');
    });
  }

  /** Runs scripts/deploy.sh demo swedencentral in the project with the stand-ins first on PATH. */
  async run(scenario: Scenario = {}): Promise<ScriptRun> {
    rmSync(this.log, { recursive: true, force: true });
    mkdirSync(this.log);
    this.received.length = 0;
    this.statuses = [...(scenario.endpointStatuses ?? [])];
    (scenario.publishFailures ?? []).forEach((failure, index) =>
      writeFileSync(path.join(this.log, `publish-failure-${index + 1}`), `${PUBLISH_FAILURES[failure]}\n`),
    );
    const env = {
      ...process.env,
      PATH: `${this.bin}${path.delimiter}${process.env.PATH}`,
      DEPLOY_RETRY_SECONDS: '0',
      STAND_IN_LOG: this.log,
      STAND_IN_OUTPUTS: JSON.stringify(this.outputs()),
      STAND_IN_EMPTY_FUNCTION_LISTS: String(scenario.emptyFunctionLists ?? 0),
      STAND_IN_EMPTY_QUERIES: String(scenario.emptyQueries ?? 0),
      STAND_IN_CORE_TOOLS_VERSION: scenario.coreToolsVersion ?? '4.13.2',
      STAND_IN_WINDOWS_NPM: scenario.windowsNpm ? '1' : '',
    };
    const script = path.join(this.project, 'scripts', 'deploy.sh');
    const args = [
      ...(scenario.xtrace ? ['-x'] : []),
      script,
      'demo',
      'swedencentral',
      ...(scenario.args ?? []),
    ];
    return await new Promise((resolve, reject) => {
      const child = spawn('bash', args, { cwd: this.project, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  /** Every command line a stand-in was given, one per entry: "<name> <args>". */
  calls(name?: string): string[] {
    const file = path.join(this.log, 'calls');
    if (!existsSync(file)) return [];
    const all = readFileSync(file, 'utf8').trim().split('\n');
    return name === undefined ? all : all.filter((line) => line.startsWith(`${name} `));
  }

  /** Files of the package the last publish was given, outside node_modules (relative, sorted). */
  packageFiles(): string[] {
    return readFileSync(path.join(this.log, 'package-files'), 'utf8').trim().split('\n');
  }

  /** The package's node_modules entries, two levels deep: node_modules/<name>, node_modules/@scope/<name>. */
  packageModules(): string[] {
    return readFileSync(path.join(this.log, 'package-modules'), 'utf8').trim().split('\n');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.tmp, { recursive: true, force: true });
  }

  private outputs() {
    return {
      functionAppName: { value: FUNCTION_APP },
      publishEventsUrl: { value: this.endpoint },
      appInsightsName: { value: 'appi-demo-abcd1234' },
      eventHubsFullyQualifiedNamespace: { value: 'evhns-demo-abcd1234.servicebus.windows.net' },
      eventHubName: { value: 'events' },
      consumerGroupName: { value: 'processor' },
    };
  }

  private writeStandIns(withNpm: boolean): void {
    const standIn = (name: string, body: string) => {
      const file = path.join(this.bin, name);
      writeFileSync(file, `#!/usr/bin/env bash\necho "${name} $*" >> "$STAND_IN_LOG/calls"\n${body}\n`);
      chmodSync(file, 0o755);
    };
    // Counts calls of one kind: prints the number of this call.
    const counter = (kind: string) =>
      `n=$(( $(cat "$STAND_IN_LOG/${kind}.count" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$STAND_IN_LOG/${kind}.count"`;
    standIn(
      'az',
      `case "$*" in
  'account show'*) printf 'Test subscription\\t${SUBSCRIPTION_ID}\\tdev@example.com\\n' ;;
  'provider show'*) echo Registered ;;
  'bicep upgrade'*) ;;
  'functionapp list-flexconsumption-locations'*) printf 'eastus\\nswedencentral\\n' ;;
  'group create'*) ;;
  'deployment group create'*) echo "$NAME_PREFIX|$DEVELOPER_PRINCIPAL_ID" > "$STAND_IN_LOG/parameters"; printf '%s\\n' "$STAND_IN_OUTPUTS" ;;
  'ad signed-in-user show'*) echo 11111111-2222-3333-4444-555555555555 ;;
  'functionapp function list'*)
    ${counter('function-list')}
    if [ "$n" -gt "$STAND_IN_EMPTY_FUNCTION_LISTS" ]; then printf '${FUNCTION_APP}/processEvents\\n${FUNCTION_APP}/publishEvents\\n'; fi ;;
  'functionapp function keys list'*) echo '${FUNCTION_KEY}' ;;
  'extension show'*) ;;
  'monitor app-insights query'*)
    ${counter('query')}
    if [ "$n" -gt "$STAND_IN_EMPTY_QUERIES" ] && [ -f "$STAND_IN_LOG/accepted-body" ]; then
      node -e 'const body = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const line = "EventProcessed " + JSON.stringify({ partitionId: "2", sequenceNumber: 0, body });
        console.log(JSON.stringify({ tables: [{ name: "PrimaryResult", rows: [["2026-01-01T00:00:05Z", line]] }] }));' "$STAND_IN_LOG/accepted-body"
    else
      echo '{"tables":[{"name":"PrimaryResult","rows":[]}]}'
    fi ;;
  *) echo "unexpected: az $*" >&2; exit 3 ;;
esac`,
    );
    standIn(
      'func',
      `if [ "$1" = --version ]; then echo "$STAND_IN_CORE_TOOLS_VERSION"; exit 0; fi
${counter('publish')}
find . -path ./node_modules -prune -o -type f -print | sed 's#^\\./##' | sort > "$STAND_IN_LOG/package-files"
find node_modules -mindepth 1 -maxdepth 2 -type d | sort > "$STAND_IN_LOG/package-modules"
if [ -f "$STAND_IN_LOG/publish-failure-$n" ]; then cat "$STAND_IN_LOG/publish-failure-$n"; exit 1; fi
echo "Deployment completed successfully."`,
    );
    if (!withNpm) return;
    // npm run clean/build and npm ci do nothing here (dist/ is prebuilt); npm ls lists the one package.
    standIn(
      'npm',
      `case "$1" in
  run | ci) ;;
  ls)
    if [ -n "$STAND_IN_WINDOWS_NPM" ]; then
      printf 'C:\\\\Users\\\\dev\\\\project\\r\\nC:\\\\Users\\\\dev\\\\project\\\\node_modules\\\\@azure\\\\functions\\r\\n'
    else
      printf '%s\\n%s\\n' "$PWD" "$PWD/node_modules/@azure/functions"
    fi ;;
  *) echo "unexpected: npm $*" >&2; exit 3 ;;
esac`,
    );
  }
}
