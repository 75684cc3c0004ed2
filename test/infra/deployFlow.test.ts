// scripts/deploy.sh end to end on the real project: the build, the staging of the package with the
// production dependencies and the smoke event run for real, in a copy of the project (the checkout's
// dist/ is not touched); Azure is played by the stand-ins of support/deployStandIns.ts (Azure cannot
// be reached from here), the first upload refused with 403 as while a new role assignment propagates.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DeployStandIns,
  FUNCTION_APP,
  FUNCTION_KEY,
  SUBSCRIPTION_ID,
  type ScriptRun,
} from './support/deployStandIns';

describe('scripts/deploy.sh, whole path on the real project with stand-ins for Azure', () => {
  let stands: DeployStandIns;
  let result: ScriptRun;

  beforeAll(async () => {
    stands = await DeployStandIns.create({ realProject: true });
    result = await stands.run({ publishFailures: ['forbidden'] });
  }, 240_000);

  afterAll(async () => {
    await stands.close();
  });

  test('succeeds and deploys the parameters file with the prefix', () => {
    if (result.status !== 0) {
      throw new Error(
        `deploy.sh exited ${result.status}:\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`,
      );
    }
    expect(readFileSync(path.join(stands.log, 'parameters'), 'utf8').trim()).toBe('demo|');
    const azCalls = stands.calls('az');
    expect(azCalls).toContain(
      'az group create --name rg-demo --location swedencentral --tags application=eventhubs-functions-reference name-prefix=demo -o none',
    );
    expect(azCalls.join('\n')).toMatch(
      /deployment group create --resource-group rg-demo --name \S+ --parameters \S+\/infra\/main\.bicepparam/,
    );
  });

  test('publishes the staged package with Core Tools, retrying the 403 of a fresh role assignment', () => {
    expect(stands.calls('func').filter((call) => call.startsWith('func azure'))).toEqual([
      `func azure functionapp publish ${FUNCTION_APP} --subscription ${SUBSCRIPTION_ID} --build local`,
      `func azure functionapp publish ${FUNCTION_APP} --subscription ${SUBSCRIPTION_ID} --build local`,
    ]);
    expect(result.stdout).toContain(
      "Waiting 0 s for the deployment identity's new role on the package container to propagate (upload refused with 403) (retry 1 of 7)",
    );
  });

  test('the package holds the compiled app, host.json, package.json and production dependencies only', () => {
    const files = stands.packageFiles();
    const outsideDist = files.filter((file) => !file.startsWith('dist/src/')).sort();
    expect(outsideDist).toEqual(['.funcignore', 'host.json', 'package.json']);
    expect(files).toContain('dist/src/functions/publishEvents.js');
    expect(files).toContain('dist/src/functions/processEvents.js');
    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);

    const modules = stands.packageModules().map((dir) => dir.replace(/^node_modules\//, ''));
    for (const runtime of ['@azure/event-hubs', '@azure/functions', '@azure/identity', '@azure/storage-blob'])
      expect(modules).toContain(runtime);
    for (const devOnly of [
      'typescript',
      'jest',
      'azurite',
      'eslint',
      'tsx',
      '@kusto/language-service-next',
      'selfsigned',
      'ws',
      '@local/eventhubs-emulator',
      'playwright-core',
      'esbuild',
      'azure-functions-core-tools',
    ]) {
      expect(modules).not.toContain(devOnly);
    }
  });

  test('proves the deployment with one smoke event through the endpoint, the key in a header', () => {
    expect(stands.received.length).toBe(1);
    const [request] = stands.received;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/api/events');
    expect(request.headers['x-functions-key']).toBe(FUNCTION_KEY);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toMatchObject({ source: 'scripts/deploy.sh', smokeTest: true });
    expect(result.stdout).toContain('answered HTTP 202');
    expect(result.stdout).toMatch(/Consumer: +\S+\tEventProcessed /);
  });

  test('prints the endpoint and a curl example that fetches the key itself, never the key', () => {
    expect(result.stdout).toMatch(/Endpoint: POST http:\/\/127\.0\.0\.1:\d+\/api\/events/);
    expect(result.stdout).toContain(
      `az functionapp function keys list -g rg-demo -n ${FUNCTION_APP} --function-name publishEvents --query default -o tsv |`,
    );
    expect(result.stdout).toContain('bash scripts/teardown.sh demo');
    expect(result.stdout + result.stderr).not.toContain(FUNCTION_KEY);
  });
});
