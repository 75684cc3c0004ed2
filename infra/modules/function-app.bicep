// Flex Consumption plan and the function app. The app runs as one user-assigned identity for Event
// Hubs, host storage and Application Insights; Flex Consumption reads and writes its deployment
// package with a second one. No secret is
// stored in its settings. Flex Consumption rejects WEBSITE_RUN_FROM_PACKAGE, FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION and WEBSITE_CONTENT* settings: the runtime lives in functionAppConfig.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app (globally unique host name).')
param appName string

@description('Azure region of the plan and the app.')
param location string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity; the settings name it so the host and SDKs pick it.')
param identityClientId string

@description('Resource id of the user-assigned identity Flex Consumption reads and writes the deployment package with.')
param deploymentIdentityId string

@description('Name of the storage account used as AzureWebJobsStorage.')
param storageAccountName string

@description('Name of the storage account holding the deployment package.')
param packageStorageAccountName string

@description('Blob container Flex Consumption reads the deployment package from.')
param deploymentContainerName string

@description('Blob container the app writes events it failed to process to.')
param deadLetterContainerName string

@description('Fully qualified Event Hubs namespace, e.g. evhns-demo-abc.servicebus.windows.net.')
param eventHubsFullyQualifiedNamespace string

@description('Name of the event hub.')
param eventHubName string

@description('Consumer group of the processEvents function.')
param consumerGroupName string

@description('Name of the Application Insights component the app sends telemetry to.')
param appInsightsName string

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs and metrics.')
param workspaceId string

@description('Tags applied to the plan and the app.')
param tags object

// Node.js 22: Node.js 20 reached end of life in April 2026.
var nodeVersion = '22'

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource packageStorageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: packageStorageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-11-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${deploymentIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // Host storage (checkpoints, leases, keys, dead letters) through the identity. The account
        // name, not __blobServiceUri/__tableServiceUri: on Flex Consumption the service-URI form can
        // fail intermittently (401, host unhealthy) while the host is starting, because the host may
        // build its BlobServiceClient before those settings are loaded (azure-functions-host #11782,
        // #11787, whose documented workaround is __accountName). From the name the host, the Event Hubs
        // extension's checkpoint store (CheckpointClientProvider) and the app's own settings reader
        // (src/lib/settings.ts) derive the blob and table endpoints of the public cloud.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storageAccount.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // One connection for the HTTP publisher and the Event Hub trigger.
        {
          name: 'EventHubConnection__fullyQualifiedNamespace'
          value: eventHubsFullyQualifiedNamespace
        }
        {
          name: 'EventHubConnection__credential'
          value: 'managedidentity'
        }
        {
          name: 'EventHubConnection__clientId'
          value: identityClientId
        }
        {
          name: 'EVENTHUB_NAME'
          value: eventHubName
        }
        {
          name: 'EVENTHUB_CONSUMER_GROUP'
          value: consumerGroupName
        }
        {
          name: 'DEAD_LETTER_CONTAINER'
          value: deadLetterContainerName
        }
        // The connection string only locates the resource; with local auth disabled, telemetry is
        // accepted only with the identity's Entra token, which the authentication string asks for.
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${packageStorageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: deploymentIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// Publishing authenticates with Entra tokens (func and az both do); basic credentials stay off.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

// The host's and the functions' logs (FunctionAppLogs table) and the app's metrics, kept in the
// workspace with the other resources' logs (Azure security baseline for Functions: enable resource
// logs). The lines also reach Application Insights (traces); host.json decides what is logged at all.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: app
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

@description('Default host name of the function app.')
output defaultHostName string = app.properties.defaultHostName
