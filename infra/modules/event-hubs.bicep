// Event Hubs namespace, the hub, and the consumer group that belongs to the processEvents function.
// Shared access keys are disabled: every client authenticates with Entra ID.

@description('Name of the Event Hubs namespace (globally unique).')
param namespaceName string

@description('Azure region of the namespace.')
param location string

@description('Pricing tier. Basic is not offered: it has no consumer groups besides $Default.')
@allowed([
  'Standard'
  'Premium'
])
param sku string

@description('Name of the event hub.')
param eventHubName string

@description('Number of partitions; on Standard it cannot change after the hub is created.')
@minValue(1)
@maxValue(32)
param partitionCount int

@description('Days the hub keeps events (Standard: 1 to 7).')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int

@description('Consumer group read by the processEvents function.')
param consumerGroupName string

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs and metrics.')
param workspaceId string

@description('Tags applied to the namespace.')
param tags object

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: sku
    tier: sku
    capacity: 1
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
}

// Operational, runtime-audit (Premium) and other resource logs, in their own AZMS* tables, and the
// namespace metrics (Azure security baseline for Event Hubs: enable resource logs).
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: namespace
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        categoryGroup: 'allLogs'
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

// serviceBusEndpoint is "https://<namespace>.<cloud suffix>:443/"; the SDKs and the Functions host
// want the bare host name, taken from the service's own answer rather than a hard-coded cloud suffix.
@description('Fully qualified namespace, e.g. evhns-demo-abc.servicebus.windows.net.')
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
