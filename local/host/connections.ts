// Connections from app settings, the way the host resolves them: a setting holding a connection
// string, or an identity-based section (`<Prefix>__fullyQualifiedNamespace`,
// `AzureWebJobsStorage__blobServiceUri` / `__accountName`, with `__credential` and `__clientId`).
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { readSettingSection, HostSettingsError } from './settings';

export const HOST_STORAGE_SETTING = 'AzureWebJobsStorage';

export type EventHubsConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; fullyQualifiedNamespace: string; credential: TokenCredential };

export function eventHubsConnection(
  settingName: string,
  env: NodeJS.ProcessEnv = process.env,
): EventHubsConnection {
  const { value, section } = readSettingSection(settingName, env);
  if (value) return { kind: 'connectionString', connectionString: value };
  const namespace = section.fullyqualifiednamespace;
  if (namespace) {
    return { kind: 'identity', fullyQualifiedNamespace: namespace, credential: credentialFrom(section) };
  }
  throw new HostSettingsError(
    `Connection setting "${settingName}" is missing: set ${settingName} (a connection string) or ` +
      `${settingName}__fullyQualifiedNamespace in local.settings.json Values`,
  );
}

export function hostStorageClient(env: NodeJS.ProcessEnv = process.env): BlobServiceClient {
  const { value, section } = readSettingSection(HOST_STORAGE_SETTING, env);
  if (value) return BlobServiceClient.fromConnectionString(value);
  const uri =
    section.blobserviceuri ?? (section.accountname && `https://${section.accountname}.blob.core.windows.net`);
  if (uri) return new BlobServiceClient(uri, credentialFrom(section));
  throw new HostSettingsError(
    `${HOST_STORAGE_SETTING} is missing: the Event Hubs trigger keeps its checkpoints there. Set it in ` +
      `local.settings.json Values (UseDevelopmentStorage=true for Azurite) or set ${HOST_STORAGE_SETTING}__accountName.`,
  );
}

/** `credential=managedidentity` means a managed identity only; otherwise the developer's own sign-in works too. */
function credentialFrom(section: Record<string, string>): TokenCredential {
  const clientId = section.clientid;
  if (section.credential?.toLowerCase() === 'managedidentity') {
    return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}
