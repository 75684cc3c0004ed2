// infra/ checked offline: syntax always (tree-sitter-bicep); with the real Bicep compiler, a build and
// lint that must report nothing, then the contract between the template and the app, read from what
// the compiler produces (`bicep build` for expressions, `bicep snapshot` for evaluated names and ids).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import {
  readConsumerSettings,
  readEventHubSettings,
  readStorageSettings,
  DEFAULTS,
  type Environment,
} from '../../src/lib/settings';
import {
  predicted,
  single,
  templateOutputs,
  templateResources,
  type Json,
  type PredictedResource,
} from './support/arm';
import { copyInfra, findBicep, infraDir, repoRoot, runBicep, sarifDiagnostics } from './support/bicep';

const compiler = findBicep();
// CI restores the compiler (.ci/run -> scripts/install-bicep.sh); there, its absence is a failure.
const compilerRequired = process.env.CI === 'true';

// Built-in role definitions (the same ids in every tenant).
const ROLES = {
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975',
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

const SNAPSHOT_CONTEXT = {
  subscriptionId: '00000000-0000-0000-0000-00000000aaaa',
  tenantId: '00000000-0000-0000-0000-00000000bbbb',
  resourceGroup: 'rg-demo',
  location: 'swedencentral',
};
const DEVELOPER_ID = '11111111-2222-3333-4444-555555555555';

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.bicep(param)?$/.test(entry.name))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe('infra/ syntax (tree-sitter-bicep; needs no compiler)', () => {
  let parser: Parser;

  beforeAll(async () => {
    await Parser.init();
    parser = new Parser();
    // Bytes rather than a path: loading from a path goes through a dynamic import jest does not allow.
    const wasm = readFileSync(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'));
    parser.setLanguage(await Language.load(wasm));
  });

  test.each(bicepFiles(infraDir))('%s parses without syntax errors', (file) => {
    let source = readFileSync(path.join(repoRoot, file), 'utf8');
    // The grammar knows .bicep only; a .bicepparam assignment `param x = <expr>` has the syntax of
    // `var x = <expr>`, so it is checked as that.
    if (file.endsWith('.bicepparam')) source = source.replace(/^param (\w+) =/gm, 'var $1 =');
    const tree = parser.parse(source);
    const problems: string[] = [];
    const visit = (node: NonNullable<typeof tree>['rootNode']): void => {
      if (node.type === 'ERROR' || node.isMissing) {
        problems.push(
          `${node.isMissing ? 'missing' : 'unexpected'} ${JSON.stringify(node.text.slice(0, 40))} at line ${node.startPosition.row + 1}`,
        );
      }
      node.children.forEach((child) => child && visit(child));
    };
    visit(tree!.rootNode);
    expect(problems).toEqual([]);
  });
});

if (compiler === undefined) {
  test(`no Bicep compiler found: build, lint and content checks ${compilerRequired ? 'FAIL on CI' : 'skipped'} (bash scripts/install-bicep.sh installs one)`, () => {
    const message =
      'No Bicep compiler (.tools/bicep, bicep on PATH, ~/.azure/bin/bicep): infra/ was checked for syntax only. ' +
      'Run `bash scripts/install-bicep.sh` (needs the .NET SDK) to compile, lint and check the templates.';
    console.warn(message);
    if (compilerRequired) throw new Error(`${message} CI restores it in .ci/run; see that step's output.`);
  });
}

const describeCompiled = compiler === undefined ? describe.skip : describe;

describeCompiled(
  `infra/ compiled with Bicep ${compiler?.version ?? '(none)'} from ${compiler?.origin ?? '-'}`,
  () => {
    let work: string;
    let build: ReturnType<typeof runBicep>;
    let buildParams: ReturnType<typeof runBicep>;
    let template: Json;
    let snapshot: Json;
    let snapshotWithoutDeveloper: Json;

    const runSnapshot = (namePrefix: string, developerId: string) =>
      runBicep(
        compiler!,
        [
          'snapshot',
          'main.bicepparam',
          '--subscription-id',
          SNAPSHOT_CONTEXT.subscriptionId,
          '--tenant-id',
          SNAPSHOT_CONTEXT.tenantId,
          '--resource-group',
          SNAPSHOT_CONTEXT.resourceGroup,
          '--location',
          SNAPSHOT_CONTEXT.location,
        ],
        { cwd: work, env: { NAME_PREFIX: namePrefix, DEVELOPER_PRINCIPAL_ID: developerId } },
      );

    const takeSnapshot = (developerId: string): Json => {
      const run = runSnapshot('demo', developerId);
      if (run.status !== 0) throw new Error(`bicep snapshot failed:\n${run.stderr}`);
      const result = JSON.parse(readFileSync(path.join(work, 'main.snapshot.json'), 'utf8'));
      expect(result.diagnostics).toEqual([]);
      return result;
    };

    beforeAll(() => {
      work = copyInfra();
      build = runBicep(
        compiler!,
        ['build', 'main.bicep', '--outfile', 'main.json', '--diagnostics-format', 'sarif'],
        {
          cwd: work,
        },
      );
      buildParams = runBicep(
        compiler!,
        [
          'build-params',
          'main.bicepparam',
          '--outfile',
          'main.parameters.json',
          '--diagnostics-format',
          'sarif',
        ],
        { cwd: work, env: { NAME_PREFIX: 'demo', DEVELOPER_PRINCIPAL_ID: '' } },
      );
      if (build.status === 0) template = JSON.parse(readFileSync(path.join(work, 'main.json'), 'utf8'));
      if (build.status === 0) {
        snapshot = takeSnapshot(DEVELOPER_ID);
        snapshotWithoutDeveloper = takeSnapshot('');
      }
    }, 180_000);

    describe('build and lint', () => {
      test('main.bicep builds with no error and no warning, linter included', () => {
        const diagnostics = sarifDiagnostics(build.stderr);
        console.info(
          `Bicep ${compiler!.version} (${compiler!.origin}) on main.bicep: ${diagnostics.length === 0 ? 'no diagnostics' : diagnostics.join('\n')}`,
        );
        expect(diagnostics).toEqual([]);
        expect(build.status).toBe(0);
      });

      test('main.bicepparam builds with no error and no warning', () => {
        expect(sarifDiagnostics(buildParams.stderr)).toEqual([]);
        expect(buildParams.status).toBe(0);
        const parameters = JSON.parse(readFileSync(path.join(work, 'main.parameters.json'), 'utf8'));
        expect(parameters.parameters.namePrefix.value).toBe('demo');
      });

      test('no diagnostic is suppressed in the templates but the one documented What-If trade-off', () => {
        const suppressions = bicepFiles(infraDir).flatMap((file) =>
          readFileSync(path.join(repoRoot, file), 'utf8')
            .split('\n')
            .flatMap((line, index, lines) =>
              line.includes('#disable-') ? [`${file}: ${line.trim()} -> ${lines[index + 1].trim()}`] : [],
            ),
        );
        expect(suppressions).toEqual([
          'infra/main.bicep: #disable-next-line what-if-short-circuiting -> appPrincipalId: identity.properties.principalId',
          'infra/main.bicep: #disable-next-line what-if-short-circuiting -> deploymentPrincipalId: deploymentIdentity.properties.principalId',
        ]);
      });

      test('bicepconfig.json makes the rules that matter errors (a template breaking them fails to build)', () => {
        writeFileSync(
          path.join(work, 'canary.bicep'),
          [
            '@secure()',
            "param adminPassword string = 'literal-default'",
            "@description('never used')",
            'param unusedParam string',
            'var unusedVariable = 1',
            "var managementUrl = 'https://management.azure.com/'",
            "resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {",
            "  name: concat('id-', 'canary')",
            "  location: 'westeurope'",
            '  properties: {',
            '    notAProperty: true',
            '  }',
            '}',
            "@description('a secret')",
            'output password string = adminPassword',
            "@description('an url')",
            'output url string = managementUrl',
            '',
          ].join('\n'),
        );
        const run = runBicep(
          compiler!,
          ['build', 'canary.bicep', '--stdout', '--diagnostics-format', 'sarif'],
          {
            cwd: work,
          },
        );
        const diagnostics = sarifDiagnostics(run.stderr);
        expect(run.status).not.toBe(0);
        for (const rule of [
          'secure-parameter-default',
          'no-unused-params',
          'no-unused-vars',
          'no-hardcoded-env-urls',
          'prefer-interpolation',
          'no-hardcoded-location',
          'outputs-should-not-contain-secrets',
        ]) {
          expect(diagnostics.filter((line) => line.startsWith(`error ${rule} `))).not.toEqual([]);
        }
        // Unknown properties are compiler warnings (their level is not configurable); the build test
        // above fails on any warning, so they cannot slip through.
        expect(diagnostics.some((line) => line.includes(' BCP037 '))).toBe(true);
      });
    });

    describe('parameters', () => {
      // ARM evaluates the prefix check at validation, before creating anything; without it `_` or `.`
      // fails minutes later as an invalid storage account name.
      test.each(['demo_1', 'demo.x', 'Demo', '9demo'])(
        'namePrefix %j is refused with the rule, before any resource',
        (namePrefix) => {
          const run = runSnapshot(namePrefix, '');
          expect(run.status).not.toBe(0);
          expect(run.stdout + run.stderr).toContain(
            `namePrefix '${namePrefix}' is invalid: use 2-12 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen`,
          );
        },
      );

      test('the same rule as scripts/deploy.sh', () => {
        const script = readFileSync(path.join(repoRoot, 'scripts', 'deploy.sh'), 'utf8');
        expect(script).toContain('[[ "$prefix" =~ ^[a-z][a-z0-9-]{0,10}[a-z0-9]$ ]]');
        const main = readFileSync(path.join(infraDir, 'main.bicep'), 'utf8');
        expect(main).toMatch(/@minLength\(2\)\n@maxLength\(12\)\nparam namePrefix string/);
      });
    });

    describe('the function app', () => {
      test('runs Node.js 22 on a Flex Consumption (FC1) plan, from a package container it reads with the deployment identity', () => {
        const plan = single(snapshot, 'Microsoft.Web/serverfarms');
        expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
        expect(plan.properties.reserved).toBe(true);

        const site = single(snapshot, 'Microsoft.Web/sites');
        const identityId = runtimeIdentity(snapshot).id;
        const deploymentIdentityId = deploymentIdentity(snapshot).id;
        expect(site.kind).toBe('functionapp,linux');
        expect(site.properties.serverFarmId).toBe(plan.id);
        expect(site.identity).toEqual({
          type: 'UserAssigned',
          userAssignedIdentities: { [identityId]: {}, [deploymentIdentityId]: {} },
        });

        const config = site.properties.functionAppConfig;
        // Node.js 20 reached end of life in April 2026.
        expect(config.runtime).toEqual({ name: 'node', version: '22' });
        expect(config.deployment.storage.type).toBe('blobContainer');
        expect(config.deployment.storage.authentication).toEqual({
          type: 'UserAssignedIdentity',
          userAssignedIdentityResourceId: deploymentIdentityId,
        });
        const storageId = packageStorage(snapshot).id;
        expect(config.deployment.storage.value).toContain(`reference('${storageId}'`);
        expect(config.deployment.storage.value).toContain('primaryEndpoints.blob');
        expect(config.deployment.storage.value).toMatch(/'app-package'\)\]$/);
        expect(config.scaleAndConcurrency).toEqual({ instanceMemoryMB: 2048, maximumInstanceCount: 100 });
      });

      test('sets exactly the settings the app reads, identity-based, and none that Flex Consumption forbids', () => {
        const settings = appSettings(snapshot);
        expect(Object.keys(settings).sort()).toEqual(
          [
            'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
            'APPLICATIONINSIGHTS_CONNECTION_STRING',
            'AzureWebJobsStorage__accountName',
            'AzureWebJobsStorage__clientId',
            'AzureWebJobsStorage__credential',
            'DEAD_LETTER_CONTAINER',
            'EVENTHUB_CONSUMER_GROUP',
            'EVENTHUB_NAME',
            'EventHubConnection__clientId',
            'EventHubConnection__credential',
            'EventHubConnection__fullyQualifiedNamespace',
          ].sort(),
        );
        for (const forbidden of [
          /^WEBSITE_RUN_FROM_PACKAGE$/,
          /^FUNCTIONS_WORKER_RUNTIME$/,
          /^FUNCTIONS_EXTENSION_VERSION$/,
          /^WEBSITE_CONTENT/,
          /^WEBSITE_NODE_DEFAULT_VERSION$/,
          /^AzureWebJobsStorage$/,
          // The service-URI form fails intermittently on Flex (azure-functions-host #11782, #11787).
          /^AzureWebJobsStorage__\w+ServiceUri$/,
          /^EventHubConnection$/,
        ]) {
          expect(Object.keys(settings).filter((name) => forbidden.test(name))).toEqual([]);
        }

        const identity = runtimeIdentity(snapshot);
        const clientIdOfTheAppIdentity = `[reference('${identity.id}', '2024-11-30').clientId]`;
        expect(settings.EventHubConnection__credential).toBe('managedidentity');
        expect(settings.EventHubConnection__clientId).toBe(clientIdOfTheAppIdentity);
        expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
        expect(settings.AzureWebJobsStorage__clientId).toBe(clientIdOfTheAppIdentity);
        expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe(
          `[format('ClientId={0};Authorization=AAD', reference('${identity.id}', '2024-11-30').clientId)]`,
        );

        expect(settings.AzureWebJobsStorage__accountName).toBe(hostStorage(snapshot).name);
        const appInsights = single(snapshot, 'Microsoft.Insights/components');
        expect(settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toBe(
          `[reference('${appInsights.id}', '2020-02-02').ConnectionString]`,
        );
        expect(settings.EventHubConnection__fullyQualifiedNamespace).toMatch(
          /^\[reference\(.*'Microsoft\.Resources\/deployments'.*\)\.outputs\.fullyQualifiedNamespace\.value\]$/,
        );
        const fqdnOutput = templateOutputs(template).find(([, name]) => name === 'fullyQualifiedNamespace');
        expect(fqdnOutput?.[2].value).toContain('serviceBusEndpoint');
      });

      test("the app's own settings reader accepts the deployed settings as identity-based connections", () => {
        const settings = appSettings(snapshot);
        const clientId = '9f1f6c2e-0000-4000-8000-000000000001';
        // Stand-ins for what Azure evaluates at deployment time; literals are taken as they are.
        const evaluated = (value: string): string =>
          value
            .replace(
              /^\[format\('ClientId=\{0\};Authorization=AAD', .*\.clientId\)\]$/,
              `ClientId=${clientId};Authorization=AAD`,
            )
            .replace(/^\[reference\(.*\)\.clientId\]$/, clientId)
            .replace(
              /^\[reference\(.*\)\.ConnectionString\]$/,
              'InstrumentationKey=00000000-0000-0000-0000-000000000000',
            )
            .replace(
              /^\[reference\(.*\.fullyQualifiedNamespace\.value\]$/,
              'evhns-demo-0123.servicebus.windows.net',
            );
        const env: Environment = Object.fromEntries(
          Object.entries(settings).map(([name, value]) => [name, evaluated(value)]),
        );
        expect(Object.values(env).filter((value) => value!.startsWith('['))).toEqual([]);

        expect(readEventHubSettings(env)).toEqual({
          kind: 'identity',
          fullyQualifiedNamespace: 'evhns-demo-0123.servicebus.windows.net',
          eventHubName: 'events',
          identity: { managedIdentity: true, clientId },
        });
        const storageAccount = hostStorage(snapshot).name;
        expect(readStorageSettings(env)).toEqual({
          kind: 'identity',
          blobServiceUri: `https://${storageAccount}.blob.core.windows.net`,
          identity: { managedIdentity: true, clientId },
        });
        expect(readConsumerSettings(env)).toMatchObject({
          eventHubName: 'events',
          consumerGroup: 'processor',
          deadLetterContainer: DEFAULTS.deadLetterContainer,
        });
      });

      test('is created only after every role assignment, so a new app does not start without its access', () => {
        const resources = template.resources as Record<string, Json>;
        const [appModule] = Object.entries(resources).find(([, resource]) =>
          JSON.stringify(resource).includes('Microsoft.Web/sites'),
        )!;
        const [accessModule] = Object.entries(resources).find(([, resource]) =>
          JSON.stringify(resource).includes('Microsoft.Authorization/roleAssignments'),
        )!;
        expect(appModule).not.toBe(accessModule);
        expect(resources[appModule].dependsOn).toContain(accessModule);
      });

      test("every setting the functions' bindings name is set", () => {
        const settings = appSettings(snapshot);
        const functionsDir = path.join(repoRoot, 'src', 'functions');
        const sources = readdirSync(functionsDir)
          .filter((file) => file.endsWith('.ts'))
          .map((file) => readFileSync(path.join(functionsDir, file), 'utf8'))
          .join('\n');
        const percentSettings = [...sources.matchAll(/'%(\w+)%'/g)].map((match) => match[1]);
        const connections = [...sources.matchAll(/connection:\s*'(\w+)'/g)].map((match) => match[1]);
        expect(percentSettings.sort()).toEqual(['EVENTHUB_CONSUMER_GROUP', 'EVENTHUB_NAME']);
        expect(connections).toEqual(['EventHubConnection']);
        for (const name of percentSettings) expect(settings).toHaveProperty(name);
        for (const prefix of connections)
          expect(settings).toHaveProperty(`${prefix}__fullyQualifiedNamespace`);
      });

      test('HTTPS only, TLS 1.2, FTP off, basic publishing credentials off', () => {
        const site = single(snapshot, 'Microsoft.Web/sites');
        expect(site.properties.httpsOnly).toBe(true);
        expect(site.properties.siteConfig.minTlsVersion).toBe('1.2');
        expect(site.properties.siteConfig.scmMinTlsVersion).toBe('1.2');
        expect(site.properties.siteConfig.ftpsState).toBe('Disabled');
        const policies = predicted(snapshot, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
        expect(policies.map((policy) => [policy.name.split('/')[1], policy.properties.allow]).sort()).toEqual(
          [
            ['ftp', false],
            ['scm', false],
          ],
        );
      });
    });

    describe('data services', () => {
      test('Event Hubs: local auth off, TLS 1.2, the hub and a dedicated consumer group named in the settings', () => {
        const namespace = single(snapshot, 'Microsoft.EventHub/namespaces');
        expect(namespace.sku).toEqual({ name: 'Standard', tier: 'Standard', capacity: 1 });
        expect(namespace.properties).toMatchObject({ disableLocalAuth: true, minimumTlsVersion: '1.2' });
        const hub = single(snapshot, 'Microsoft.EventHub/namespaces/eventhubs');
        expect(hub.name).toBe(`${namespace.name}/events`);
        expect(hub.properties).toEqual({ partitionCount: 4, messageRetentionInDays: 1 });
        const group = single(snapshot, 'Microsoft.EventHub/namespaces/eventhubs/consumergroups');
        const groupName = group.name.split('/')[2];
        expect(groupName).not.toMatch(/^\$default$/i);
        expect(appSettings(snapshot).EVENTHUB_CONSUMER_GROUP).toBe(groupName);
        expect(appSettings(snapshot).EVENTHUB_NAME).toBe('events');
      });

      test('storage: shared keys off, no public blobs, TLS 1.2, HTTPS only on both accounts; dead letters in the host account, the package in its own', () => {
        const accounts = predicted(snapshot, 'Microsoft.Storage/storageAccounts');
        expect(accounts.length).toBe(2);
        for (const account of accounts) {
          expect(account.properties).toMatchObject({
            allowSharedKeyAccess: false,
            allowBlobPublicAccess: false,
            minimumTlsVersion: 'TLS1_2',
            supportsHttpsTrafficOnly: true,
            defaultToOAuthAuthentication: true,
          });
        }
        const containers = predicted(snapshot, 'Microsoft.Storage/storageAccounts/blobServices/containers');
        expect(containers.map((container) => container.name).sort()).toEqual(
          [
            `${packageStorage(snapshot).name}/default/app-package`,
            `${hostStorage(snapshot).name}/default/azure-webjobs-eventhub`,
            `${hostStorage(snapshot).name}/default/azure-webjobs-hosts`,
            `${hostStorage(snapshot).name}/default/dead-letter-events`,
          ].sort(),
        );
        for (const container of containers) expect(container.properties.publicAccess).toBe('None');
        expect(appSettings(snapshot).DEAD_LETTER_CONTAINER).toBe('dead-letter-events');
        expect(DEFAULTS.deadLetterContainer).toBe('dead-letter-events');
      });

      test('storage: deleted blobs and containers can be restored for 7 days (soft delete)', () => {
        const blobServices = predicted(snapshot, 'Microsoft.Storage/storageAccounts/blobServices');
        expect(blobServices.length).toBe(predicted(snapshot, 'Microsoft.Storage/storageAccounts').length);
        for (const service of blobServices) {
          expect(service.properties).toMatchObject({
            deleteRetentionPolicy: { enabled: true, days: 7 },
            containerDeleteRetentionPolicy: { enabled: true, days: 7 },
          });
        }
      });

      test('diagnostic settings send the namespace, both storage accounts and the app to the workspace', () => {
        const settings = predicted(snapshot, 'Microsoft.Insights/diagnosticSettings');
        const scopeOf = (id: string) =>
          id.replace(/\/providers\/Microsoft\.Insights\/diagnosticSettings\/[^/]+$/, '');
        const byScope = Object.fromEntries(
          settings.map((setting) => [scopeOf(setting.id), setting.properties]),
        );
        const namespace = single(snapshot, 'Microsoft.EventHub/namespaces').id;
        const app = single(snapshot, 'Microsoft.Web/sites').id;
        const host = hostStorage(snapshot).id;
        const pkg = packageStorage(snapshot).id;
        expect(Object.keys(byScope).sort()).toEqual(
          [
            namespace,
            app,
            host,
            `${host}/blobServices/default`,
            `${host}/tableServices/default`,
            pkg,
            `${pkg}/blobServices/default`,
          ].sort(),
        );
        // Every one targets the deployment's workspace (the monitoring module's output, its id).
        const workspaceOutput = templateOutputs(template).find(([, name]) => name === 'workspaceId');
        expect(workspaceOutput?.[2].value).toContain('Microsoft.OperationalInsights/workspaces');
        for (const properties of Object.values(byScope)) {
          expect(properties.workspaceId).toMatch(/\.outputs\.workspaceId\.value\]$/);
        }
        const enabled = (entries: Json[] | undefined, key: 'category' | 'categoryGroup') =>
          (entries ?? []).filter((entry) => entry.enabled === true).map((entry) => entry[key]);
        expect(enabled(byScope[namespace].logs, 'categoryGroup')).toEqual(['allLogs']);
        expect(enabled(byScope[namespace].metrics, 'category')).toEqual(['AllMetrics']);
        expect(enabled(byScope[app].logs, 'category')).toEqual(['FunctionAppLogs']);
        expect(enabled(byScope[app].metrics, 'category')).toEqual(['AllMetrics']);
        for (const service of [
          `${host}/blobServices/default`,
          `${host}/tableServices/default`,
          `${pkg}/blobServices/default`,
        ]) {
          expect(enabled(byScope[service].logs, 'category')).toEqual([
            'StorageRead',
            'StorageWrite',
            'StorageDelete',
          ]);
          expect(enabled(byScope[service].metrics, 'category')).toEqual(['Transaction']);
        }
        for (const account of [host, pkg])
          expect(enabled(byScope[account].metrics, 'category')).toEqual(['Transaction']);
      });

      test('monitoring: workspace-based Application Insights, local auth off on both', () => {
        const workspace = single(snapshot, 'Microsoft.OperationalInsights/workspaces');
        expect(workspace.properties.features.disableLocalAuth).toBe(true);
        const appInsights = single(snapshot, 'Microsoft.Insights/components');
        expect(appInsights.properties).toMatchObject({
          DisableLocalAuth: true,
          WorkspaceResourceId: workspace.id,
        });
      });

      test('every resource that takes tags carries the default tags', () => {
        const tagged = snapshot.predictedResources.filter(
          (resource: Json) => resource.location !== undefined,
        );
        expect(tagged.length).toBeGreaterThan(6);
        for (const resource of tagged) {
          expect([resource.type, resource.tags]).toEqual([
            resource.type,
            {
              application: 'eventhubs-functions-reference',
              'name-prefix': 'demo',
              'deployed-with': 'infra/main.bicep',
            },
          ]);
        }
      });

      test('resource names carry the prefix and fit their services rules', () => {
        const byType = (type: string) => single(snapshot, type).name;
        expect(hostStorage(snapshot).name).toMatch(/^stdemo[a-z0-9]{8}$/);
        expect(packageStorage(snapshot).name).toMatch(/^stdemopkg[a-z0-9]{7}$/);
        expect(runtimeIdentity(snapshot).name).toMatch(/^id-demo-[a-z0-9]{8}$/);
        expect(deploymentIdentity(snapshot).name).toMatch(/^id-demo-deploy-[a-z0-9]{8}$/);
        expect(byType('Microsoft.EventHub/namespaces')).toMatch(/^evhns-demo-[a-z0-9]{8}$/);
        expect(byType('Microsoft.Web/sites')).toMatch(/^func-demo-[a-z0-9]{8}$/);
        for (const resource of snapshot.predictedResources) {
          if (resource.location !== undefined) expect(resource.location).toBe(SNAPSHOT_CONTEXT.location);
        }
      });
    });

    describe('identity and access', () => {
      const resourceGroupId = `/subscriptions/${SNAPSHOT_CONTEXT.subscriptionId}/resourceGroups/${SNAPSHOT_CONTEXT.resourceGroup}`;

      test("the app's identity holds each role it needs, at the narrowest scope, and nothing else", () => {
        const identity = runtimeIdentity(snapshot);
        const namespace = single(snapshot, 'Microsoft.EventHub/namespaces');
        const storage = hostStorage(snapshot);
        const appInsights = single(snapshot, 'Microsoft.Insights/components');
        const hubId = `${namespace.id}/eventhubs/events`;
        const principal = `[reference('${identity.id}', '2024-11-30').principalId]`;

        const appAssignments = roleAssignments(snapshot).filter(
          (assignment) => assignment.principalId === principal,
        );
        expect(
          appAssignments
            .map(({ scope, role, principalType }) => ({ scope, role, principalType }))
            .sort(byScopeAndRole),
        ).toEqual(
          [
            { scope: hubId, role: ROLES.eventHubsDataSender },
            { scope: hubId, role: ROLES.eventHubsDataReceiver },
            { scope: storage.id, role: ROLES.storageBlobDataOwner },
            { scope: storage.id, role: ROLES.storageTableDataContributor },
            { scope: appInsights.id, role: ROLES.monitoringMetricsPublisher },
          ]
            .map((expected) => ({ ...expected, principalType: 'ServicePrincipal' }))
            .sort(byScopeAndRole),
        );
        for (const assignment of appAssignments) {
          expect(assignment.roleDefinitionId).toBe(
            `/subscriptions/${SNAPSHOT_CONTEXT.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${assignment.role}`,
          );
          // Never wider than the resource: no namespace-, group- or subscription-wide grant.
          expect(assignment.scope.startsWith(`${resourceGroupId}/providers/`)).toBe(true);
        }
        expect(roleAssignments(snapshot).length).toBe(appAssignments.length + 1 + 5);
      });

      test('the deployment package is writable by the deployment identity alone, which has no other role', () => {
        const deployment = `[reference('${deploymentIdentity(snapshot).id}', '2024-11-30').principalId]`;
        const packageAccount = packageStorage(snapshot).id;
        const all = roleAssignments(snapshot);
        const onPackageAccount = all.filter(
          (assignment) =>
            assignment.scope === packageAccount || assignment.scope.startsWith(`${packageAccount}/`),
        );
        expect(
          onPackageAccount.map(({ scope, role, principalId, principalType }) => ({
            scope,
            role,
            principalId,
            principalType,
          })),
        ).toEqual([
          {
            scope: `${packageAccount}/blobServices/default/containers/app-package`,
            role: ROLES.storageBlobDataContributor,
            principalId: deployment,
            principalType: 'ServicePrincipal',
          },
        ]);
        expect(all.filter((assignment) => assignment.principalId === deployment).length).toBe(1);
        // No assignment on the resource group or above could reach the package account either.
        for (const assignment of all) expect(assignment.scope).toContain('/providers/');
      });

      test('no assignment repeats what a wider one of the same principal already grants', () => {
        // Blob Data Owner on an account covers every blob role on its containers.
        const blobRoles: string[] = [ROLES.storageBlobDataOwner, ROLES.storageBlobDataContributor];
        const all = roleAssignments(snapshot);
        const redundant = all.filter((inner) =>
          all.some(
            (outer) =>
              outer !== inner &&
              outer.principalId === inner.principalId &&
              outer.role === ROLES.storageBlobDataOwner &&
              blobRoles.includes(inner.role) &&
              inner.scope.startsWith(`${outer.scope}/`),
          ),
        );
        expect(redundant).toEqual([]);
      });

      test('a developer gets the same data roles only when developerPrincipalId is given', () => {
        const developer = roleAssignments(snapshot).filter(
          (assignment) => assignment.principalId === DEVELOPER_ID,
        );
        const namespace = single(snapshot, 'Microsoft.EventHub/namespaces');
        const storage = hostStorage(snapshot);
        expect(
          developer
            .map(({ scope, role, principalType }) => ({ scope, role, principalType }))
            .sort(byScopeAndRole),
        ).toEqual(
          [
            { scope: `${namespace.id}/eventhubs/events`, role: ROLES.eventHubsDataSender },
            { scope: `${namespace.id}/eventhubs/events`, role: ROLES.eventHubsDataReceiver },
            // The containers the app uses, not the account: no access to host keys (azure-webjobs-secrets).
            ...['azure-webjobs-eventhub', 'azure-webjobs-hosts', 'dead-letter-events'].map((container) => ({
              scope: `${storage.id}/blobServices/default/containers/${container}`,
              role: ROLES.storageBlobDataContributor,
            })),
          ]
            .map((expected) => ({ ...expected, principalType: 'User' }))
            .sort(byScopeAndRole),
        );
        expect(
          roleAssignments(snapshotWithoutDeveloper).filter(
            (assignment) => !assignment.principalId.startsWith('['),
          ),
        ).toEqual([]);
        expect(roleAssignments(snapshotWithoutDeveloper).length).toBe(6);
      });

      test('every assignment is named guid(scope, principal, role), so redeployments find it again', () => {
        const assignments = templateResources(template).filter(
          (resource) => resource.type === 'Microsoft.Authorization/roleAssignments',
        );
        expect(assignments.length).toBe(9);
        for (const assignment of assignments) {
          const match =
            /^\[guid\((.+), parameters\('(\w+PrincipalId)'\), variables\('roles'\)\.(\w+)\)\]$/.exec(
              assignment.name,
            );
          expect(match).not.toBeNull();
          const [, scopeExpression, principalParameter, role] = match!;
          expect(`[${scopeExpression}]`).toBe(assignment.scope);
          expect(assignment.properties.principalId).toBe(`[parameters('${principalParameter}')]`);
          expect(assignment.properties.roleDefinitionId).toBe(
            `[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('roles').${role})]`,
          );
        }
        // The ids behind the role names are the built-in ones.
        const module = Object.values(template.resources as Record<string, Json>).find(
          (resource) =>
            resource.type === 'Microsoft.Resources/deployments' &&
            JSON.stringify(resource).includes('roleAssignments'),
        );
        const declared = module.properties.template.variables.roles as Record<string, string>;
        expect(declared).toEqual(ROLES);
      });
    });

    describe('outputs', () => {
      test('no output carries a secret', () => {
        for (const [where, name, output] of templateOutputs(template)) {
          const described = `${where}.${name}`;
          expect([described, output.type]).not.toEqual([described, expect.stringMatching(/^secure/i)]);
          expect([described, JSON.stringify(output.value)]).not.toEqual([
            described,
            expect.stringMatching(
              /list\w*\(|ConnectionString|InstrumentationKey|primaryKey|secondaryKey|password|secret/i,
            ),
          ]);
        }
      });

      test('nothing in the template lists keys or builds connection strings with keys', () => {
        const text = readFileSync(path.join(work, 'main.json'), 'utf8');
        expect(text).not.toMatch(/listKeys|listConnectionStrings|listSecrets|AccountKey=|SharedAccessKey/);
      });

      test('gives scripts/deploy.sh every output it reads', () => {
        const script = readFileSync(path.join(repoRoot, 'scripts', 'deploy.sh'), 'utf8');
        const used = [...script.matchAll(/\$\(output (\w+)\)/g)].map((match) => match[1]);
        expect(used.length).toBeGreaterThan(3);
        const declared = Object.keys(template.outputs);
        for (const name of used) expect(declared).toContain(name);
        const values = snapshot.outputs as Record<string, string>;
        expect(values.functionAppName).toBe(single(snapshot, 'Microsoft.Web/sites').name);
        expect(values.appInsightsName).toBe(single(snapshot, 'Microsoft.Insights/components').name);
        expect(values.eventHubName).toBe('events');
        expect(values.consumerGroupName).toBe('processor');
        expect(values.deadLetterContainerName).toBe('dead-letter-events');
      });
    });
  },
);

/** The host's storage account: the one AzureWebJobsStorage names. */
function hostStorage(snapshot: Json): PredictedResource {
  return storageAccountHolding(snapshot, 'dead-letter-events');
}

/** The account of the deployment package. */
function packageStorage(snapshot: Json): PredictedResource {
  return storageAccountHolding(snapshot, 'app-package');
}

function storageAccountHolding(snapshot: Json, container: string): PredictedResource {
  const holder = predicted(snapshot, 'Microsoft.Storage/storageAccounts/blobServices/containers')
    .map((resource) => resource.name.split('/'))
    .filter(([, , name]) => name === container)
    .map(([account]) => account);
  expect(holder.length).toBe(1);
  return predicted(snapshot, 'Microsoft.Storage/storageAccounts').find(
    (account) => account.name === holder[0],
  )!;
}

/** The identity the app runs as (app settings name its client id). */
function runtimeIdentity(snapshot: Json): PredictedResource {
  return identityNamed(snapshot, /^id-[a-z0-9-]+-[a-z0-9]{8}$/, /-deploy-/);
}

/** The identity Flex Consumption uses for the deployment package. */
function deploymentIdentity(snapshot: Json): PredictedResource {
  return identityNamed(snapshot, /^id-[a-z0-9-]+-deploy-[a-z0-9]{8}$/);
}

function identityNamed(snapshot: Json, name: RegExp, not?: RegExp): PredictedResource {
  const matches = predicted(snapshot, 'Microsoft.ManagedIdentity/userAssignedIdentities').filter(
    (identity) => name.test(identity.name) && !(not?.test(identity.name) ?? false),
  );
  expect(matches.length).toBe(1);
  return matches[0];
}

function appSettings(snapshot: Json): Record<string, string> {
  const site = single(snapshot, 'Microsoft.Web/sites');
  const entries = site.properties.siteConfig.appSettings as Array<{ name: string; value: string }>;
  const names = entries.map((entry) => entry.name);
  expect(new Set(names).size).toBe(names.length);
  return Object.fromEntries(entries.map((entry) => [entry.name, entry.value]));
}

interface Assignment {
  scope: string;
  role: string;
  principalId: string;
  principalType: string;
  roleDefinitionId: string;
}

function roleAssignments(snapshot: Json): Assignment[] {
  return predicted(snapshot, 'Microsoft.Authorization/roleAssignments').map((assignment) => {
    // The id is <scope>/providers/Microsoft.Authorization/roleAssignments/<name>, or the same as an
    // extensionResourceId(...) expression when the name depends on a runtime value.
    const scope =
      /^\[extensionResourceId\('([^']+)'/.exec(assignment.id)?.[1] ??
      assignment.id.replace(/\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/, '');
    const roleDefinitionId: string = assignment.properties.roleDefinitionId;
    return {
      scope,
      role: roleDefinitionId.split('/').pop()!,
      principalId: assignment.properties.principalId,
      principalType: assignment.properties.principalType,
      roleDefinitionId,
    };
  });
}

function byScopeAndRole(a: { scope: string; role: string }, b: { scope: string; role: string }): number {
  return `${a.scope} ${a.role}`.localeCompare(`${b.scope} ${b.role}`);
}
