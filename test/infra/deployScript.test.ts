// scripts/deploy.sh against stand-ins for Azure (support/deployStandIns.ts: Azure cannot be reached
// from here, so stand-in `az` and `func` executables and a local HTTP endpoint are the only way to
// drive the script): each failure a first publish meets is retried with its reason and then succeeds,
// a permanent one stops the script with Core Tools' message, an old Core Tools is refused, the
// deployment is proven (functions, smoke event, the consumer's line in Application Insights), and
// the function key reaches the endpoint but never the output, a command line or an xtrace.
import {
  DeployStandIns,
  FUNCTION_APP,
  FUNCTION_KEY,
  PUBLISH_FAILURES,
  SUBSCRIPTION_ID,
} from './support/deployStandIns';

describe('scripts/deploy.sh with stand-ins for Azure', () => {
  let stands: DeployStandIns;

  beforeAll(async () => {
    stands = await DeployStandIns.create();
  });
  afterAll(async () => {
    await stands.close();
  });

  const failed = (run: { status: number | null; stdout: string; stderr: string }) =>
    `deploy.sh exited ${run.status}:\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`;
  const publishes = () =>
    stands.calls('func').filter((call) => call.startsWith('func azure functionapp publish'));

  test('a clean first deployment: published once with --subscription, then proven', async () => {
    const run = await stands.run();
    if (run.status !== 0) throw new Error(failed(run));
    expect(publishes()).toEqual([
      `func azure functionapp publish ${FUNCTION_APP} --subscription ${SUBSCRIPTION_ID} --build local`,
    ]);
    expect(stands.packageFiles()).toEqual([
      '.funcignore',
      'dist/src/functions/publishEvents.js',
      'host.json',
      'package.json',
    ]);
    expect(stands.packageModules()).toEqual(['node_modules/@azure', 'node_modules/@azure/functions']);
    // The proof, as printed: what was listed, sent and seen.
    expect(run.stdout).toContain('Functions:    processEvents publishEvents');
    const smoke = JSON.parse(stands.received[0].body);
    expect(smoke).toEqual({ source: 'scripts/deploy.sh', smokeTest: true, smokeId: expect.any(String) });
    expect(run.stdout).toContain(`Smoke event:  ${stands.received[0].body}, answered HTTP 202`);
    expect(run.stdout).toMatch(
      new RegExp(
        `Consumer: +2026-01-01T00:00:05Z\\tEventProcessed \\{"partitionId":"2".*"smokeId":"${smoke.smokeId}"`,
      ),
    );
    // The query that found it names the smoke event's id.
    expect(stands.calls('az').find((call) => call.startsWith('az monitor app-insights query'))).toContain(
      `message contains "${smoke.smokeId}"`,
    );
  });

  test.each([
    [
      'forbidden',
      "the deployment identity's new role on the package container to propagate (upload refused with 403)",
    ],
    ['resourceGraph', 'Azure Resource Graph to list the new app (Core Tools finds apps through it)'],
  ] as const)(
    'publish failing with %s is retried, saying what it waits for, then succeeds',
    async (failure, reason) => {
      const run = await stands.run({ publishFailures: [failure, failure] });
      if (run.status !== 0) throw new Error(failed(run));
      expect(publishes().length).toBe(3);
      expect(run.stdout).toContain(`Waiting 0 s for ${reason} (retry 1 of 7)`);
      expect(run.stdout).toContain(`Waiting 0 s for ${reason} (retry 2 of 7)`);
      expect(run.stderr).toContain(PUBLISH_FAILURES[failure].split('\n').pop());
      expect(run.stdout).toContain('Consumer:');
    },
  );

  test('an unhealthy host after the upload is not uploaded again: the script waits for the host', async () => {
    const run = await stands.run({ publishFailures: ['unhealthy'], emptyFunctionLists: 2 });
    if (run.status !== 0) throw new Error(failed(run));
    expect(publishes().length).toBe(1);
    expect(run.stdout).toContain('The package is deployed; the host was not healthy yet 60 s later');
    expect(run.stdout).toContain(
      'Waiting 0 s for the host to load the app and list its functions (listed so far: none) (retry 2 of 7)',
    );
    expect(run.stdout).toContain('Functions:    processEvents publishEvents');
  });

  test('retries are bounded: a failure that lasts stops the script with what it waited for', async () => {
    const run = await stands.run({ publishFailures: Array(8).fill('resourceGraph') });
    expect(run.status).toBe(1);
    expect(publishes().length).toBe(8);
    expect(run.stderr).toContain(
      'deploy: publishing still fails after 8 attempts; it was waiting for Azure Resource Graph to list the new app',
    );
    expect(stands.received).toEqual([]);
  });

  test('a permanent failure stops at once with Core Tools’ message', async () => {
    const run = await stands.run({ publishFailures: ['permanent'] });
    expect(run.status).toBe(1);
    expect(publishes().length).toBe(1);
    expect(run.stderr).toContain(`deploy: publishing failed: ${PUBLISH_FAILURES.permanent}`);
    expect(run.stdout).not.toContain('Waiting');
    expect(stands.received).toEqual([]);
  });

  test('the endpoint is retried while it answers 503/401, and the consumer line waited for', async () => {
    const run = await stands.run({ endpointStatuses: [503, 401], emptyQueries: 2 });
    if (run.status !== 0) throw new Error(failed(run));
    expect(stands.received.length).toBe(3);
    expect(run.stdout).toContain(
      'Waiting 0 s for the endpoint to accept the smoke event (last answer: HTTP 503 {"error":"stand-in refusal"}) (retry 1 of 7)',
    );
    expect(run.stdout).toContain("Waiting 0 s for the consumer's EventProcessed line of the smoke event");
    expect(stands.calls('az').filter((call) => call.startsWith('az monitor app-insights query')).length).toBe(
      3,
    );
  });

  test('an endpoint refusing the event for good (400) stops the script with its answer', async () => {
    const run = await stands.run({ endpointStatuses: [400] });
    expect(run.status).toBe(1);
    expect(stands.received.length).toBe(1);
    expect(run.stderr).toContain(
      'deploy: the endpoint refused the smoke event: HTTP 400 {"error":"stand-in refusal"}',
    );
  });

  test('a consumer line that never comes fails the proof, with the queries to look again', async () => {
    const run = await stands.run({ emptyQueries: 8 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'the smoke event was accepted, but its EventProcessed line has not reached Application Insights yet',
    );
    expect(run.stderr).toContain(
      'az monitor app-insights query -g rg-demo --app appi-demo-abcd1234 --offset 1h',
    );
  });

  test('Core Tools older than 4.0.5274 is refused with the version found, before anything in Azure', async () => {
    const run = await stands.run({ coreToolsVersion: '4.0.5198' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "Azure Functions Core Tools 4.0.5274 or later is required to publish to Flex Consumption; found '4.0.5198'",
    );
    expect(stands.calls('az')).toEqual([]);
  });

  test('the package is staged from the C:\\ paths a Windows npm prints under Git Bash', async () => {
    const run = await stands.run({ windowsNpm: true });
    if (run.status !== 0) throw new Error(failed(run));
    expect(stands.packageModules()).toEqual(['node_modules/@azure', 'node_modules/@azure/functions']);
    expect(run.stdout).toContain('Package: dist/, host.json, package.json and 1 production packages');
  });

  test('the function key reaches the endpoint only: not the output, a command line or an xtrace', async () => {
    const run = await stands.run({ xtrace: true, endpointStatuses: [503] });
    if (run.status !== 0) throw new Error(failed(run));
    expect(stands.received.map((request) => request.headers['x-functions-key'])).toEqual([
      FUNCTION_KEY,
      FUNCTION_KEY,
    ]);
    expect(run.stdout).not.toContain(FUNCTION_KEY);
    expect(run.stderr).not.toContain(FUNCTION_KEY);
    expect(stands.calls().filter((call) => call.includes(FUNCTION_KEY))).toEqual([]);
    // The ready-to-paste example fetches the key into a pipe instead of showing it.
    expect(run.stdout).toContain(
      `az functionapp function keys list -g rg-demo -n ${FUNCTION_APP} --function-name publishEvents --query default -o tsv |\n` +
        "    sed 's/^/x-functions-key: /' |\n" +
        `    curl -i -X POST '${stands.endpoint}' -H @-`,
    );
  });
});
