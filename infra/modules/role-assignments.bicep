// Every role assignment of the deployment, each at the narrowest scope that works. Names are
// guid(scope, principal, role) so a redeployment finds the same assignment instead of failing on a
// duplicate.

@description('Principal id (object id) of the app\'s user-assigned identity.')
param appPrincipalId string

@description('Principal id (object id) of the identity Flex Consumption reads and writes the deployment package with.')
param deploymentPrincipalId string

@description('Object id of a developer to grant the app\'s data roles to, for running the app locally against Azure. Empty: none.')
param developerPrincipalId string

@description('Kind of principal developerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string

@description('Name of the Event Hubs namespace.')
param eventHubsNamespaceName string

@description('Name of the event hub.')
param eventHubName string

@description('Name of the host storage account.')
param storageAccountName string

@description('Containers of the host storage account a developer gets Storage Blob Data Contributor on.')
param developerContainerNames string[]

@description('Name of the storage account holding the deployment package.')
param packageStorageAccountName string

@description('Blob container of the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param appInsightsName string

// Built-in role definition ids (the same in every tenant).
var roles = {
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var grantDeveloper = !empty(developerPrincipalId)

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubsNamespaceName

  resource hub 'eventhubs' existing = {
    name: eventHubName
  }
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'
  }
}

resource packageStorageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: packageStorageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deploymentContainer 'containers' existing = {
      name: deploymentContainerName
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// --- The app's identity ---------------------------------------------------------------------------

// publishEvents sends; processEvents receives. Hub scope: the identity reaches no other hub.
resource appEventHubsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace::hub.id, appPrincipalId, roles.eventHubsDataSender)
  scope: namespace::hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appEventHubsReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace::hub.id, appPrincipalId, roles.eventHubsDataReceiver)
  scope: namespace::hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The host creates its containers (checkpoints, leases, keys) on this account: account scope, and
// Owner as the Functions host requires for identity-based AzureWebJobsStorage. The deployment package
// is in another account, where this identity has no role.
resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The host writes its diagnostic events (AZFD...) to tables of AzureWebJobsStorage.
resource appTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageTableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Application Insights has local auth disabled: telemetry needs this role on the component.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- The deployment identity -----------------------------------------------------------------------

// Flex Consumption writes the package with it on publish and reads it when an instance starts: the
// one role of this identity, on the one container.
resource deploymentPackageContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(packageStorageAccount::blobService::deploymentContainer.id, deploymentPrincipalId, roles.storageBlobDataContributor)
  scope: packageStorageAccount::blobService::deploymentContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: deploymentPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- Optional: a developer running the app locally against these resources -------------------------

resource developerEventHubsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeveloper) {
  name: guid(namespace::hub.id, developerPrincipalId, roles.eventHubsDataSender)
  scope: namespace::hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}

resource developerEventHubsReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeveloper) {
  name: guid(namespace::hub.id, developerPrincipalId, roles.eventHubsDataReceiver)
  scope: namespace::hub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}

// Only the containers the app works with: checkpoints, host locks and dead letters. Not the account:
// Owner there would also give the app's host keys (azure-webjobs-secrets) and, with them, every
// function key. The containers exist before anyone runs the app (storage.bicep creates them), so a
// container-scoped role is enough.
resource developerContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for name in developerContainerNames: {
    parent: storageAccount::blobService
    name: name
  }
]

resource developerBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, index) in developerContainerNames: if (grantDeveloper) {
    name: guid(developerContainers[index].id, developerPrincipalId, roles.storageBlobDataContributor)
    scope: developerContainers[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
      principalId: developerPrincipalId
      principalType: developerPrincipalType
    }
  }
]
