// infra/ compiled with the real Bicep compiler (support/compiledInfra.ts; skipped without one, as in
// templates.test.ts): the data services, identity and access, and the outputs, read from what the
// compiler produces, against what the app expects.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../../src/lib/settings';
import { predicted, single, templateOutputs, templateResources, type Json } from './support/arm';
import { repoRoot } from './support/bicep';
import {
  COMPILED_TITLE,
  compileInfra,
  describeCompiled,
  DEVELOPER_ID,
  ROLES,
  SNAPSHOT_CONTEXT,
} from './support/compiledInfra';
import {
  appSettings,
  byScopeAndRole,
  deploymentIdentity,
  hostStorage,
  packageStorage,
  roleAssignments,
  runtimeIdentity,
} from './support/infraSnapshot';

describeCompiled(COMPILED_TITLE, () => {
  let work: string;
  let template: Json;
  let snapshot: Json;
  let snapshotWithoutDeveloper: Json;

  beforeAll(() => {
    ({ work, template, snapshot, snapshotWithoutDeveloper } = compileInfra());
  }, 180_000);

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
      const tagged = snapshot.predictedResources.filter((resource: Json) => resource.location !== undefined);
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
});
