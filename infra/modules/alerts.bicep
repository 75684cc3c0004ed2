// Alerts on the consumer's own log lines in Application Insights (the `traces` table): lag above a
// threshold (ConsumerLag lines, written every minute by the consumerLag function) and failed events or
// batches (EventFailed / BatchFailed lines). Both notify one e-mail address through an action group;
// main.bicep deploys this module only when that address is given, so no alert exists without a receiver.

@description('Short name put in the resource names.')
param namePrefix string

@description('Azure region of the alert rules (the region of Application Insights).')
param location string

@description('Resource id of the Application Insights component the rules query.')
param appInsightsId string

@description('E-mail address the alerts are sent to.')
param alertEmail string

@description('Alert when a partition\'s lagEvents (ConsumerLag lines) exceeds this.')
@minValue(1)
param lagThresholdEvents int

@description('Alert when more than this many EventFailed or BatchFailed lines appear within 5 minutes.')
@minValue(0)
param failureThreshold int = 0

@description('Tags applied to every resource.')
param tags object

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('${namePrefix}ops', 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// The largest lagEvents per partition over the window: one alert per partition that stays behind.
resource consumerLag 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-${namePrefix}-consumer-lag'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Event Hubs consumer lag (${namePrefix})'
    description: 'A partition of the processEvents consumer group is more than ${lagThresholdEvents} events behind (ConsumerLag lines of the consumerLag function).'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'traces\n| where message startswith "ConsumerLag "\n| extend l = parse_json(substring(message, strlen("ConsumerLag ")))\n| project timestamp, partitionId = tostring(l.partitionId), lagEvents = tolong(l.lagEvents)'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'lagEvents'
          dimensions: [
            {
              name: 'partitionId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: lagThresholdEvents
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

// Every failed event (dead-lettered or given up) and every failed invocation, by kind.
resource failures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-${namePrefix}-consumer-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Event Hubs consumer failures (${namePrefix})'
    description: 'processEvents logged more than ${failureThreshold} EventFailed or BatchFailed lines in 5 minutes: see the dead letters (npm run dead-letters -- list) and the BatchFailed errors.'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'traces\n| where message startswith "EventFailed " or message startswith "BatchFailed "\n| extend kind = tostring(split(message, " ")[0])\n| project timestamp, kind'
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'kind'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: failureThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

@description('Resource id of the action group the alerts notify.')
output actionGroupId string = operators.id
