using 'main.bicep'

// scripts/deploy.sh passes the prefix (and, with --developer-access, your object id) through the
// environment. Tune the rest here; every parameter is described in main.bicep.
param namePrefix = readEnvironmentVariable('NAME_PREFIX')
param developerPrincipalId = readEnvironmentVariable('DEVELOPER_PRINCIPAL_ID', '')
// Alerts (consumer lag, failed events) only with a receiver: ALERT_EMAIL=you@example.com npm run deploy ...
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')

param eventHubName = 'events'
param consumerGroupName = 'processor'
param partitionCount = 4
param messageRetentionInDays = 1
param instanceMemoryMB = 2048
param maximumInstanceCount = 100
