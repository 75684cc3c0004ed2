// scripts/deploy.sh end to end, with Azure played by stand-ins: `az` answers like a signed-in CLI and
// a successful deployment, `func` refuses the first upload with 403 (as Flex Consumption does while a
// new role assignment propagates) and records what it was asked to publish, and the "function app" is
// an HTTP server on 127.0.0.1. The build, the staging of the package with production dependencies and
// the endpoint check run for real, in a copy of the project so the checkout's dist/ is not touched.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './support/bicep';

const FUNCTION_KEY = 'test-function-key-7f3a';

interface Received {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('scripts/deploy.sh, whole path with stand-ins for Azure', () => {
  let tmp: string;
  let server: Server;
  const received: Received[] = [];
  let result: { status: number | null; stdout: string; stderr: string };
  let log: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'deploy-flow-'));
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ method: request.method, url: request.url, headers: request.headers, body });
        response.writeHead(202, { 'Content-Type': 'application/json' }).end('{"accepted":1}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;

    // The project, as a user's checkout has it (node_modules shared, read-only use).
    const project = path.join(tmp, 'project');
    mkdirSync(project);
    for (const entry of [
      'src',
      'scripts',
      'infra',
      'host.json',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      '.funcignore',
    ]) {
      cpSync(path.join(repoRoot, entry), path.join(project, entry), { recursive: true });
    }
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(project, 'node_modules'));

    log = path.join(tmp, 'log');
    mkdirSync(log);
    const bin = path.join(tmp, 'bin');
    mkdirSync(bin);
    const outputs = {
      functionAppName: { value: 'func-demo-abcd1234' },
      publishEventsUrl: { value: endpoint },
      appInsightsName: { value: 'appi-demo-abcd1234' },
      eventHubsFullyQualifiedNamespace: { value: 'evhns-demo-abcd1234.servicebus.windows.net' },
      eventHubName: { value: 'events' },
      consumerGroupName: { value: 'processor' },
    };
    writeFileSync(path.join(tmp, 'outputs.json'), JSON.stringify(outputs));
    const standIn = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\nLOG='${log}'\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    standIn(
      'az',
      `echo "az $*" >> "$LOG/az"
case "$*" in
  'account show'*) printf 'Test subscription\\t00000000-0000-0000-0000-00000000aaaa\\tdev@example.com\\n' ;;
  'provider show'*) echo Registered ;;
  'bicep upgrade'*) ;;
  'functionapp list-flexconsumption-locations'*) printf 'eastus\\nswedencentral\\nwesteurope\\n' ;;
  'group create'*) ;;
  'deployment group create'*) echo "$NAME_PREFIX|$DEVELOPER_PRINCIPAL_ID" > "$LOG/parameters"; cat '${tmp}/outputs.json' ;;
  'functionapp function keys list'*) echo '${FUNCTION_KEY}' ;;
  *) echo "unexpected: az $*" >&2; exit 3 ;;
esac`,
    );
    standIn(
      'func',
      `if [ "$1" = --version ]; then echo 4.0.7030; exit 0; fi
count=$(( $(cat "$LOG/publish-count" 2>/dev/null || echo 0) + 1 )); echo "$count" > "$LOG/publish-count"
echo "$*|$FUNCTIONS_WORKER_RUNTIME" > "$LOG/publish-args"
find . -path ./node_modules -prune -o -type f -print | sort > "$LOG/package-files"
ls node_modules node_modules/@azure > "$LOG/package-modules"
if [ "$count" = 1 ]; then
  echo "Uploading archive... Error (Forbidden). Server Response: AuthorizationPermissionMismatch"; exit 1
fi
echo "Deployment completed successfully."`,
    );

    result = await new Promise((resolve, reject) => {
      const child = spawn('bash', [path.join(project, 'scripts', 'deploy.sh'), 'demo', 'swedencentral'], {
        cwd: project,
        env: {
          ...process.env,
          PATH: `${bin}${path.delimiter}${process.env.PATH}`,
          DEPLOY_RETRY_SECONDS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }, 240_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(tmp, { recursive: true, force: true });
  });

  test('succeeds and deploys the parameters file with the prefix', () => {
    if (result.status !== 0) {
      throw new Error(
        `deploy.sh exited ${result.status}:\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`,
      );
    }
    expect(readFileSync(path.join(log, 'parameters'), 'utf8').trim()).toBe('demo|');
    const azCalls = readFileSync(path.join(log, 'az'), 'utf8');
    expect(azCalls).toContain('group create --name rg-demo --location swedencentral');
    expect(azCalls).toMatch(
      /deployment group create --resource-group rg-demo --name \S+ --parameters \S+\/infra\/main\.bicepparam/,
    );
  });

  test('publishes the staged package with Core Tools, retrying the 403 of a fresh role assignment', () => {
    expect(readFileSync(path.join(log, 'publish-count'), 'utf8').trim()).toBe('2');
    expect(result.stdout).toContain('Publish refused (role assignments still propagating); retry 1 of 7');
    expect(readFileSync(path.join(log, 'publish-args'), 'utf8').trim()).toBe(
      'azure functionapp publish func-demo-abcd1234 --build local|node',
    );
  });

  test('the package holds the compiled app, host.json, package.json and production dependencies only', () => {
    const files = readFileSync(path.join(log, 'package-files'), 'utf8').trim().split('\n');
    const outsideDist = files.filter((file) => !file.startsWith('./dist/src/')).sort();
    expect(outsideDist).toEqual(['./.funcignore', './host.json', './package.json']);
    expect(files).toContain('./dist/src/functions/publishEvents.js');
    expect(files).toContain('./dist/src/functions/processEvents.js');
    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);

    const modules = readFileSync(path.join(log, 'package-modules'), 'utf8');
    for (const runtime of ['event-hubs', 'functions', 'identity', 'storage-blob'])
      expect(modules).toContain(runtime);
    for (const devOnly of [
      'typescript',
      'jest',
      'azurite',
      'eslint',
      'tsx',
      'eventhubs-checkpointstore-blob',
      'selfsigned',
      'playwright-core',
      'esbuild',
    ]) {
      expect(modules.split('\n')).not.toContain(devOnly);
    }
  });

  test('checks the endpoint with one event, passing the key in a header', () => {
    expect(received.length).toBe(1);
    expect(received[0].method).toBe('POST');
    expect(received[0].url).toBe('/api/events');
    expect(received[0].headers['x-functions-key']).toBe(FUNCTION_KEY);
    expect(received[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(received[0].body)).toEqual({ source: 'scripts/deploy.sh', smokeTest: true });
    expect(result.stdout).toContain('HTTP 202: the event was accepted by Event Hubs.');
  });

  test('prints the endpoint and a curl example, but not the key when the output is not a terminal', () => {
    expect(result.stdout).toMatch(/Endpoint: POST http:\/\/127\.0\.0\.1:\d+\/api\/events/);
    expect(result.stdout).toContain('Function key: not printed because the output is not a terminal');
    expect(result.stdout).toContain(
      'az functionapp function keys list -g rg-demo -n func-demo-abcd1234 --function-name publishEvents --query default -o tsv',
    );
    expect(result.stdout).toContain("-H 'x-functions-key: <function key>'");
    expect(result.stdout).toContain('bash scripts/teardown.sh demo');
    expect(result.stdout + result.stderr).not.toContain(FUNCTION_KEY);
  });
});
