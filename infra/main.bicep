// Everything the app needs, in one resource group: Event Hubs, the host storage account, a Flex
// Consumption function app with its package account, Log Analytics + Application Insights, two
// user-assigned identities (one the app runs as, one for its deployment package) and their role
// assignments. Passwordless throughout: no key or connection secret exists to leak.
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

@description('Days a deleted blob or container (checkpoints, dead letters, the app package) can be restored.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int = 7

@description('Object id of a developer (or group, or service principal) to grant Event Hubs send/receive on the hub and blob access to the containers the app uses, for running the app locally against these resources. Empty: nobody.')
param developerPrincipalId string = ''

@description('Kind of principal developerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param developerPrincipalType string = 'User'

@description('Tags applied to every resource, added to (or overriding) the default ones: application, name-prefix and deployed-with.')
param tags object = {}

// The rule scripts/deploy.sh checks, enforced here too for direct deployments: without it a `_` or `.`
// passes the length check and fails minutes later as an invalid storage account name. ARM has no
// regular expressions, so each character is checked against the allowed set; fail() stops the
// deployment at validation, before any resource is created.
var prefixLetters = 'abcdefghijklmnopqrstuvwxyz'
var prefixCharacters = '${prefixLetters}0123456789-'
var prefixIsValid = contains(prefixLetters, first(namePrefix)) && !endsWith(namePrefix, '-') && empty(filter(
  range(0, length(namePrefix)),
  index => !contains(prefixCharacters, substring(namePrefix, index, 1))
))
var prefix = prefixIsValid
  ? namePrefix
  : fail('namePrefix \'${namePrefix}\' is invalid: use 2-12 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen')

@description('E-mail address for the consumer lag and failure alerts. Empty: no alerts (an alert needs a receiver).')
param alertEmail string = ''

@description('Lag alert: a partition more than this many events behind.')
@minValue(1)
param consumerLagAlertThreshold int = 1000

// Globally unique names (storage, Event Hubs, the app's host name) need a suffix that is stable for
// a given resource group and prefix, so redeploying updates the same resources.
// Names are computed here, not read from module outputs, so that What-If can predict every resource.
var suffix = take(uniqueString(resourceGroup().id, prefix), 8)
var names = {
  identity: 'id-${prefix}-${suffix}'
  workspace: 'log-${prefix}-${suffix}'
  appInsights: 'appi-${prefix}-${suffix}'
  eventHubsNamespace: 'evhns-${prefix}-${suffix}'
  storageAccount: take('st${replace(prefix, '-', '')}${suffix}', 24)
  // At most 2 + 12 + 3 + 7 = 24 characters, the storage account limit.
  packageStorageAccount: 'st${replace(prefix, '-', '')}pkg${take(suffix, 7)}'
  deploymentIdentity: 'id-${prefix}-deploy-${suffix}'
  plan: 'plan-${prefix}-${suffix}'
  functionApp: 'func-${prefix}-${suffix}'
}
// Default tags say what a resource belongs to when it is found in a shared subscription or a cost
// report (Azure security baseline / PSRule Azure.Resource.UseTags); parameters add to them.
var resourceTags = union(
  {
    application: 'eventhubs-functions-reference'
    'name-prefix': prefix
    'deployed-with': 'infra/main.bicep'
  },
  tags
)
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'dead-letter-events'
// The containers the app works with on the host account: checkpoints and ownership (the Event Hubs
// extension's), host locks, and dead letters. Created here so that --developer-access can grant them,
// and only them, before the host has ever run; the host finds them and goes on.
var appContainerNames = [
  'azure-webjobs-eventhub'
  'azure-webjobs-hosts'
  deadLetterContainerName
]

// The identity the app runs as: app settings name it for Event Hubs, host storage and telemetry.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: names.identity
  location: location
  tags: resourceTags
}

// The identity Flex Consumption uses for the deployment package alone: it writes the package when
// `func azure functionapp publish` uploads one and reads it when an instance starts. The package lives
// in an account of its own where only this identity has a role, so the identity the app runs as (and
// any token of it) cannot rewrite the code the app runs. docs/deploy.md says what this does not cover.
resource deploymentIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: names.deploymentIdentity
  location: location
  tags: resourceTags
}

module monitoring 'modules/monitoring.bicep' = {
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    retentionInDays: logRetentionInDays
    tags: resourceTags
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
    workspaceId: monitoring.outputs.workspaceId
    tags: resourceTags
  }
}

module storage 'modules/storage.bicep' = {
  params: {
    accountName: names.storageAccount
    location: location
    containerNames: appContainerNames
    deleteRetentionDays: deleteRetentionDays
    workspaceId: monitoring.outputs.workspaceId
    logTableService: true
    tags: resourceTags
  }
}

module packageStorage 'modules/storage.bicep' = {
  params: {
    accountName: names.packageStorageAccount
    location: location
    containerNames: [deploymentContainerName]
    deleteRetentionDays: deleteRetentionDays
    workspaceId: monitoring.outputs.workspaceId
    logTableService: false
    tags: resourceTags
  }
}

module access 'modules/role-assignments.bicep' = {
  params: {
    // Assignment names are guid(scope, principal, role); the identity's principal id is only known
    // once it exists, which What-If accepts at the price of a less precise preview of this module.
    #disable-next-line what-if-short-circuiting
    appPrincipalId: identity.properties.principalId
    #disable-next-line what-if-short-circuiting
    deploymentPrincipalId: deploymentIdentity.properties.principalId
    developerPrincipalId: developerPrincipalId
    developerPrincipalType: developerPrincipalType
    developerContainerNames: appContainerNames
    eventHubsNamespaceName: names.eventHubsNamespace
    eventHubName: eventHubName
    storageAccountName: names.storageAccount
    packageStorageAccountName: names.packageStorageAccount
    deploymentContainerName: deploymentContainerName
    appInsightsName: names.appInsights
  }
  dependsOn: [
    eventHubs
    storage
    packageStorage
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
    deploymentIdentityId: deploymentIdentity.id
    storageAccountName: names.storageAccount
    packageStorageAccountName: names.packageStorageAccount
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubName
    consumerGroupName: consumerGroupName
    appInsightsName: names.appInsights
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    workspaceId: monitoring.outputs.workspaceId
    tags: resourceTags
  }
  // The app starts (and its host tries storage, Event Hubs and telemetry) as soon as it exists; created
  // before its role assignments, a new app logs 403s and looks unhealthy for minutes.
  dependsOn: [
    storage
    packageStorage
    access
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

@description('Name of the host storage account (AzureWebJobsStorage__accountName).')
output storageAccountName string = names.storageAccount

@description('Container holding events the consumer failed to process.')
output deadLetterContainerName string = deadLetterContainerName

@description('Name of the storage account holding the deployment package (only the deployment identity may write it).')
output packageStorageAccountName string = names.packageStorageAccount

@description('Name of the Application Insights component where the consumer logs are queried.')
output appInsightsName string = names.appInsights

@description('Client id of the app\'s user-assigned identity (not a secret).')
output identityClientId string = identity.properties.clientId
