// A storage account with its blob containers, used twice: the host's storage (AzureWebJobsStorage:
// checkpoints and leases written by the Functions host, the app's dead-letter blobs) and the account
// holding the deployment package that Flex Consumption runs. Shared-key access is off, so only Entra
// identities with data roles can read or write.

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param accountName string

@description('Azure region of the account.')
param location string

@description('Blob containers to create.')
param containerNames string[]

@description('Days a deleted blob or container can be restored (soft delete).')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs and metrics.')
param workspaceId string

@description('Also log the table service (the host writes its diagnostic events to tables).')
param logTableService bool

@description('Tags applied to the account.')
param tags object

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Soft delete for blobs and containers: a checkpoint, dead letter or package deleted by mistake (or by
// a compromised identity) can be restored within the retention period (Azure security baseline for
// Storage, PSRule Azure.Storage.SoftDelete and Azure.Storage.ContainerSoftDelete).
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for name in containerNames: {
    parent: blobService
    name: name
    properties: {
      publicAccess: 'None'
    }
  }
]

// Who read, wrote or deleted which blob (StorageBlobLogs), and the account's transaction metrics
// (Azure security baseline for Storage: enable resource logs). Reads are logged too: on the package
// account they say who fetched the code, on the host account the volume is a few lease and checkpoint
// reads per partition per minute.
resource accountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: account
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

var dataLogs = [
  {
    category: 'StorageRead'
    enabled: true
  }
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: blobService
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: dataLogs
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' existing = if (logTableService) {
  parent: account
  name: 'default'
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (logTableService) {
  scope: tableService
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logs: dataLogs
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}
