// Everything the app needs, in one resource group: Event Hubs, the host storage account, a Flex
// Consumption function app, Log Analytics + Application Insights, one user-assigned identity and its
// role assignments. Passwordless throughout: no key or connection secret exists to leak.
//
//   az deployment group create -g <group> -f infra/main.bicep -p namePrefix=<prefix>
// or with the parameters file (what scripts/deploy.sh does):
//   NAME_PREFIX=<prefix> az deployment group create -g <group> -p infra/main.bicepparam

@description('Short name put in every resource name: 2-12 lowercase letters, digits or hyphens, starting with a letter.')
@minLength(2)
@maxLength(12)
param namePrefix string

@description('Azure region of every resource; it must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Event hub the publishEvents function sends to and processEvents reads.')
param eventHubName string = 'events'

@description('Consumer group dedicated to the processEvents function.')
param consumerGroupName string = 'processor'

@description('Number of partitions of the event hub; on Standard it cannot change after creation.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Days the event hub keeps events (Standard: 1 to 7).')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int = 1

@description('Event Hubs tier.')
@allowed([
  'Standard'
  'Premium'
])
param eventHubsSku string = 'Standard'

@description('Memory of each function app instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the function app scales out to (Flex Consumption: 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Days Log Analytics keeps the app\'s logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Object id of a developer (or group, or service principal) to grant the app\'s data roles to, for running the app locally against these resources. Empty: nobody.')
param developerPrincipalId string = ''

@description('Kind of principal developerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'

@description('Tags applied to every resource.')
param tags object = {}

@description('E-mail address for the consumer lag and failure alerts. Empty: no alerts (an alert needs a receiver).')
param alertEmail string = ''

@description('Lag alert: a partition more than this many events behind.')
@minValue(1)
param consumerLagAlertThreshold int = 1000

// Globally unique names (storage, Event Hubs, the app's host name) need a suffix that is stable for
// a given resource group and prefix, so redeploying updates the same resources.
// Names are computed here, not read from module outputs, so that What-If can predict every resource.
var prefix = toLower(namePrefix)
var suffix = take(uniqueString(resourceGroup().id, prefix), 8)
var names = {
  identity: 'id-${prefix}-${suffix}'
  workspace: 'log-${prefix}-${suffix}'
  appInsights: 'appi-${prefix}-${suffix}'
  eventHubsNamespace: 'evhns-${prefix}-${suffix}'
  storageAccount: take('st${replace(prefix, '-', '')}${suffix}', 24)
  plan: 'plan-${prefix}-${suffix}'
  functionApp: 'func-${prefix}-${suffix}'
}
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'dead-letter-events'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: names.identity
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    retentionInDays: logRetentionInDays
    tags: tags
  }
}

module eventHubs 'modules/event-hubs.bicep' = {
  params: {
    namespaceName: names.eventHubsNamespace
    location: location
    sku: eventHubsSku
    eventHubName: eventHubName
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
    consumerGroupName: consumerGroupName
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  params: {
    accountName: names.storageAccount
    location: location
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    tags: tags
  }
}

module access 'modules/role-assignments.bicep' = {
  params: {
    // Assignment names are guid(scope, principal, role); the identity's principal id is only known
    // once it exists, which What-If accepts at the price of a less precise preview of this module.
    #disable-next-line what-if-short-circuiting
    appPrincipalId: identity.properties.principalId
    developerPrincipalId: developerPrincipalId
    developerPrincipalType: developerPrincipalType
    eventHubsNamespaceName: names.eventHubsNamespace
    eventHubName: eventHubName
    storageAccountName: names.storageAccount
    deploymentContainerName: deploymentContainerName
    appInsightsName: names.appInsights
  }
  dependsOn: [
    eventHubs
    storage
    monitoring
  ]
}

module alerts 'modules/alerts.bicep' = if (!empty(alertEmail)) {
  params: {
    namePrefix: prefix
    location: location
    appInsightsId: resourceId('Microsoft.Insights/components', names.appInsights)
    alertEmail: alertEmail
    lagThresholdEvents: consumerLagAlertThreshold
    tags: tags
  }
  dependsOn: [
    monitoring
  ]
}

module functionApp 'modules/function-app.bicep' = {
  params: {
    planName: names.plan
    appName: names.functionApp
    location: location
    identityId: identity.id
    identityClientId: identity.properties.clientId
    storageAccountName: names.storageAccount
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubName
    consumerGroupName: consumerGroupName
    appInsightsName: names.appInsights
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    tags: tags
  }
  dependsOn: [
    storage
    monitoring
  ]
}

@description('Name of the function app (what func azure functionapp publish takes).')
output functionAppName string = names.functionApp

@description('Host name of the function app.')
output functionAppHostName string = functionApp.outputs.defaultHostName

@description('URL of the publishEvents function; it needs a function key (x-functions-key header or ?code=).')
output publishEventsUrl string = 'https://${functionApp.outputs.defaultHostName}/api/events'

@description('Fully qualified Event Hubs namespace (EventHubConnection__fullyQualifiedNamespace).')
output eventHubsFullyQualifiedNamespace string = eventHubs.outputs.fullyQualifiedNamespace

@description('Name of the event hub (EVENTHUB_NAME).')
output eventHubName string = eventHubName

@description('Consumer group of processEvents (EVENTHUB_CONSUMER_GROUP).')
output consumerGroupName string = consumerGroupName

@description('Name of the host storage account.')
output storageAccountName string = names.storageAccount

@description('Blob endpoint of the host storage account (AzureWebJobsStorage__blobServiceUri).')
output storageBlobEndpoint string = storage.outputs.blobEndpoint

@description('Container holding events the consumer failed to process.')
output deadLetterContainerName string = deadLetterContainerName

@description('Name of the Application Insights component where the consumer logs are queried.')
output appInsightsName string = names.appInsights

@description('Client id of the app\'s user-assigned identity (not a secret).')
output identityClientId string = identity.properties.clientId
