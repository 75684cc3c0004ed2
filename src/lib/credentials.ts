// One Entra ID credential per configured connection, following the Functions host's identity settings.
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { IdentitySettings } from './settings';

export function createCredential(identity: IdentitySettings): TokenCredential {
  if (!identity.managedIdentity) return new DefaultAzureCredential();
  return identity.clientId === undefined
    ? new ManagedIdentityCredential()
    : new ManagedIdentityCredential({ clientId: identity.clientId });
}
