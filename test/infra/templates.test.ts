// infra/ checked offline: syntax always (tree-sitter-bicep); with the real Bicep compiler, a build and
// lint that must report nothing, the parameters, and the function app's part of the contract between
// the template and the app (the data services, access and outputs: templateServices.test.ts), read
// from what the compiler produces (support/compiledInfra.ts).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SETTING_NAMES } from '../../src/lib/settings';
import { Language, Parser } from 'web-tree-sitter';
import {
  readConsumerSettings,
  readEventHubSettings,
  readStorageSettings,
  DEFAULTS,
  type Environment,
} from '../../src/lib/settings';
import { predicted, single, templateOutputs, type Json } from './support/arm';
import { infraDir, repoRoot, runBicep, sarifDiagnostics } from './support/bicep';
import {
  bicepFiles,
  COMPILED_TITLE,
  compileInfra,
  compiler,
  compilerRequired,
  describeCompiled,
  runSnapshot as runInfraSnapshot,
  type CompiledInfra,
} from './support/compiledInfra';
import {
  appSettings,
  deploymentIdentity,
  hostStorage,
  packageStorage,
  runtimeIdentity,
} from './support/infraSnapshot';

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

describeCompiled(COMPILED_TITLE, () => {
  let work: string;
  let build: CompiledInfra['build'];
  let buildParams: CompiledInfra['buildParams'];
  let template: Json;
  let snapshot: Json;
  const runSnapshot = (namePrefix: string, developerId: string) =>
    runInfraSnapshot(work, namePrefix, developerId);

  beforeAll(() => {
    ({ work, build, buildParams, template, snapshot } = compileInfra());
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
      // Bindings name settings as '%NAME%' or bindingExpression(SETTING_NAMES.x); connections as a
      // string or SETTING_NAMES.x.
      const named = (key: string) => SETTING_NAMES[key as keyof typeof SETTING_NAMES];
      const percentSettings = [
        ...[...sources.matchAll(/'%(\w+)%'/g)].map((match) => match[1]),
        ...[...sources.matchAll(/bindingExpression\(SETTING_NAMES\.(\w+)\)/g)].map((match) =>
          named(match[1]),
        ),
      ];
      const connections = [
        ...[...sources.matchAll(/connection:\s*'(\w+)'/g)].map((match) => match[1]),
        ...[...sources.matchAll(/connection:\s*SETTING_NAMES\.(\w+)/g)].map((match) => named(match[1])),
      ];
      expect(percentSettings.sort()).toEqual(['EVENTHUB_CONSUMER_GROUP', 'EVENTHUB_NAME']);
      expect(connections).toEqual(['EventHubConnection']);
      for (const name of percentSettings) expect(settings).toHaveProperty(name);
      for (const prefix of connections) expect(settings).toHaveProperty(`${prefix}__fullyQualifiedNamespace`);
    });

    test('HTTPS only, TLS 1.2, FTP off, basic publishing credentials off', () => {
      const site = single(snapshot, 'Microsoft.Web/sites');
      expect(site.properties.httpsOnly).toBe(true);
      expect(site.properties.siteConfig.minTlsVersion).toBe('1.2');
      expect(site.properties.siteConfig.scmMinTlsVersion).toBe('1.2');
      expect(site.properties.siteConfig.ftpsState).toBe('Disabled');
      const policies = predicted(snapshot, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
      expect(policies.map((policy) => [policy.name.split('/')[1], policy.properties.allow]).sort()).toEqual([
        ['ftp', false],
        ['scm', false],
      ]);
    });
  });
});
