// Log Analytics workspace and workspace-based Application Insights. Local (key) authentication is
// off on both: telemetry is accepted only from Entra identities holding Monitoring Metrics Publisher.

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Azure region of both resources.')
param location string

@description('Days the workspace keeps logs (30 is included in the price).')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Tags applied to both resources.')
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

@description('Resource id of the Log Analytics workspace; the other resources send their diagnostic logs there.')
output workspaceId string = workspace.id
