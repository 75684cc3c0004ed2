// The Application Insights tables the shipped queries read, in both forms: the Application Insights
// ("classic") names that `az monitor app-insights query` and the component's Logs blade use (traces,
// requests, exceptions), and the Log Analytics workspace names (AppTraces, AppRequests, AppExceptions).
// Source: the column mapping in MicrosoftDocs/azure-monitor-docs,
// articles/azure-monitor/app/convert-classic-resource.md ("Table schemas"); one list per table gives
// both names so the two schemas cannot drift apart.

export type KustoType = 'string' | 'int' | 'real' | 'bool' | 'datetime' | 'dynamic';

/** [classic name, classic type, workspace name, workspace type]. */
type Column = readonly [string, KustoType, string, KustoType];

/** Columns every Application Insights table shares. */
const COMMON: readonly Column[] = [
  ['appId', 'string', 'ResourceGUID', 'string'],
  ['application_Version', 'string', 'AppVersion', 'string'],
  ['client_Browser', 'string', 'ClientBrowser', 'string'],
  ['client_City', 'string', 'ClientCity', 'string'],
  ['client_CountryOrRegion', 'string', 'ClientCountryOrRegion', 'string'],
  ['client_IP', 'string', 'ClientIP', 'string'],
  ['client_Model', 'string', 'ClientModel', 'string'],
  ['client_OS', 'string', 'ClientOS', 'string'],
  ['client_StateOrProvince', 'string', 'ClientStateOrProvince', 'string'],
  ['client_Type', 'string', 'ClientType', 'string'],
  ['cloud_RoleInstance', 'string', 'AppRoleInstance', 'string'],
  ['cloud_RoleName', 'string', 'AppRoleName', 'string'],
  ['customDimensions', 'dynamic', 'Properties', 'dynamic'],
  ['iKey', 'string', 'IKey', 'string'],
  ['itemType', 'string', 'Type', 'string'],
  ['operation_Id', 'string', 'OperationId', 'string'],
  ['operation_Name', 'string', 'OperationName', 'string'],
  ['operation_ParentId', 'string', 'ParentId', 'string'],
  ['operation_SyntheticSource', 'string', 'SyntheticSource', 'string'],
  ['sdkVersion', 'string', 'SDKVersion', 'string'],
  ['session_Id', 'string', 'SessionId', 'string'],
  ['timestamp', 'datetime', 'TimeGenerated', 'datetime'],
  ['user_AccountId', 'string', 'UserAccountId', 'string'],
  ['user_AuthenticatedId', 'string', 'UserAuthenticatedId', 'string'],
  ['user_Id', 'string', 'UserId', 'string'],
];

const TABLES: Record<string, { workspaceName: string; columns: readonly Column[] }> = {
  traces: {
    workspaceName: 'AppTraces',
    columns: [
      ['customMeasurements', 'dynamic', 'Measurements', 'dynamic'],
      ['itemCount', 'int', 'ItemCount', 'int'],
      ['message', 'string', 'Message', 'string'],
      ['severityLevel', 'int', 'SeverityLevel', 'int'],
    ],
  },
  requests: {
    workspaceName: 'AppRequests',
    columns: [
      ['customMeasurements', 'dynamic', 'Measurements', 'dynamic'],
      ['duration', 'real', 'DurationMs', 'real'],
      ['id', 'string', 'Id', 'string'],
      ['itemCount', 'int', 'ItemCount', 'int'],
      ['name', 'string', 'Name', 'string'],
      ['performanceBucket', 'string', 'PerformanceBucket', 'string'],
      ['resultCode', 'string', 'ResultCode', 'string'],
      ['source', 'string', 'Source', 'string'],
      // A string ("True"/"False") in the classic table, a bool in the workspace one.
      ['success', 'string', 'Success', 'bool'],
      ['url', 'string', 'Url', 'string'],
    ],
  },
  exceptions: {
    workspaceName: 'AppExceptions',
    columns: [
      ['assembly', 'string', 'Assembly', 'string'],
      ['customMeasurements', 'dynamic', 'Measurements', 'dynamic'],
      ['details', 'dynamic', 'Details', 'dynamic'],
      ['handledAt', 'string', 'HandledAt', 'string'],
      ['innermostAssembly', 'string', 'InnermostAssembly', 'string'],
      ['innermostMessage', 'string', 'InnermostMessage', 'string'],
      ['innermostMethod', 'string', 'InnermostMethod', 'string'],
      ['innermostType', 'string', 'InnermostType', 'string'],
      ['itemCount', 'int', 'ItemCount', 'int'],
      ['message', 'string', 'Message', 'string'],
      ['method', 'string', 'Method', 'string'],
      ['outerAssembly', 'string', 'OuterAssembly', 'string'],
      ['outerMessage', 'string', 'OuterMessage', 'string'],
      ['outerMethod', 'string', 'OuterMethod', 'string'],
      ['outerType', 'string', 'OuterType', 'string'],
      ['problemId', 'string', 'ProblemId', 'string'],
      ['severityLevel', 'int', 'SeverityLevel', 'int'],
      ['type', 'string', 'ExceptionType', 'string'],
    ],
  },
};

/** Columns Log Analytics adds to every workspace table (Azure Monitor Logs reference, e.g. AppRequests). */
const WORKSPACE_STANDARD: ReadonlyArray<readonly [string, KustoType]> = [
  ['TenantId', 'string'],
  ['SourceSystem', 'string'],
  ['_BilledSize', 'real'],
  ['_IsBillable', 'string'],
  ['_ResourceId', 'string'],
  ['_SubscriptionId', 'string'],
];

export interface TableSchema {
  name: string;
  columns: ReadonlyArray<readonly [string, KustoType]>;
}

/** traces, requests, exceptions as Application Insights exposes them. */
export const APPLICATION_INSIGHTS_TABLES: TableSchema[] = Object.entries(TABLES).map(([name, table]) => ({
  name,
  columns: [...COMMON, ...table.columns].map(([column, type]) => [column, type] as const),
}));

/** AppTraces, AppRequests, AppExceptions as the Log Analytics workspace exposes them. */
export const WORKSPACE_TABLES: TableSchema[] = Object.values(TABLES).map((table) => ({
  name: table.workspaceName,
  columns: [
    ...[...COMMON, ...table.columns].map(([, , column, type]) => [column, type] as const),
    ...WORKSPACE_STANDARD,
  ],
}));

/** Workspace column name of a classic column (for the mapping the docs print). */
export function workspaceColumn(table: string, classicColumn: string): string | undefined {
  const columns = [...COMMON, ...(TABLES[table]?.columns ?? [])];
  return columns.find(([name]) => name === classicColumn)?.[2];
}
