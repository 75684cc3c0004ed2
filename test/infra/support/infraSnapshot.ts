// Readers of a `bicep snapshot` for the content checks: the storage accounts and identities the app
// uses, its app settings, and the role assignments.
import { predicted, single, type Json, type PredictedResource } from './arm';

/** The host's storage account: the one AzureWebJobsStorage names. */
export function hostStorage(snapshot: Json): PredictedResource {
  return storageAccountHolding(snapshot, 'dead-letter-events');
}

/** The account of the deployment package. */
export function packageStorage(snapshot: Json): PredictedResource {
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
export function runtimeIdentity(snapshot: Json): PredictedResource {
  return identityNamed(snapshot, /^id-[a-z0-9-]+-[a-z0-9]{8}$/, /-deploy-/);
}

/** The identity Flex Consumption uses for the deployment package. */
export function deploymentIdentity(snapshot: Json): PredictedResource {
  return identityNamed(snapshot, /^id-[a-z0-9-]+-deploy-[a-z0-9]{8}$/);
}

function identityNamed(snapshot: Json, name: RegExp, not?: RegExp): PredictedResource {
  const matches = predicted(snapshot, 'Microsoft.ManagedIdentity/userAssignedIdentities').filter(
    (identity) => name.test(identity.name) && !(not?.test(identity.name) ?? false),
  );
  expect(matches.length).toBe(1);
  return matches[0];
}

export function appSettings(snapshot: Json): Record<string, string> {
  const site = single(snapshot, 'Microsoft.Web/sites');
  const entries = site.properties.siteConfig.appSettings as Array<{ name: string; value: string }>;
  const names = entries.map((entry) => entry.name);
  expect(new Set(names).size).toBe(names.length);
  return Object.fromEntries(entries.map((entry) => [entry.name, entry.value]));
}

export interface Assignment {
  scope: string;
  role: string;
  principalId: string;
  principalType: string;
  roleDefinitionId: string;
}

export function roleAssignments(snapshot: Json): Assignment[] {
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

export function byScopeAndRole(
  a: { scope: string; role: string },
  b: { scope: string; role: string },
): number {
  return `${a.scope} ${a.role}`.localeCompare(`${b.scope} ${b.role}`);
}
