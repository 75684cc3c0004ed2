// Every Kusto query we ship (README.md, docs/, and the ones scripts/deploy.sh runs or prints) parsed
// and analyzed by Microsoft's Kusto parser against the Application Insights schema: a query with a
// syntax error, an unknown column or a type error fails the build, as it would fail in the portal.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { APPLICATION_INSIGHTS_TABLES, WORKSPACE_TABLES, workspaceColumn } from './support/appInsightsSchema';
import { analyzeKusto, kustoDatabase } from './support/kusto';
import { repoRoot } from './support/bicep';

interface ShippedQuery {
  where: string;
  text: string;
}

function lineOf(source: string, index: number): number {
  return source.slice(0, index).split('\n').length;
}

/** ```kusto blocks, and the `--analytics-query '...'` arguments of shell examples. */
function markdownQueries(file: string): ShippedQuery[] {
  const source = readFileSync(path.join(repoRoot, file), 'utf8');
  const blocks = [...source.matchAll(/```kusto\n([\s\S]*?)```/g)].map((match) => ({
    where: `${file}:${lineOf(source, match.index)}`,
    text: match[1],
  }));
  const inline = [...source.matchAll(/--analytics-query\s+'([^']*)'/g)].map((match) => ({
    where: `${file}:${lineOf(source, match.index)}`,
    text: match[1],
  }));
  return [...blocks, ...inline];
}

/** deploy.sh keeps its queries in `readonly <name>_query='...'` lines; %s is the smoke event's id. */
function scriptQueries(file: string): ShippedQuery[] {
  const source = readFileSync(path.join(repoRoot, file), 'utf8');
  return [...source.matchAll(/^readonly (\w+_query)='([^']*)'$/gm)].map((match) => ({
    where: `${file}:${lineOf(source, match.index)} (${match[1]})`,
    text: match[2].replace(/%s/g, '0f8fad5b-d9cb-469f-a165-70867728950e'),
  }));
}

const docs = readdirSync(path.join(repoRoot, 'docs'))
  .filter((file) => file.endsWith('.md'))
  .map((file) => `docs/${file}`);
const queries = [...['README.md', ...docs].flatMap(markdownQueries), ...scriptQueries('scripts/deploy.sh')];

const applicationInsights = kustoDatabase('applicationInsights', APPLICATION_INSIGHTS_TABLES);
const workspace = kustoDatabase('workspace', WORKSPACE_TABLES);
const workspaceTableNames = WORKSPACE_TABLES.map((table) => table.name);

/** A query naming a workspace table (AppTraces, ...) runs in the workspace; any other in Application Insights. */
function usesWorkspace(query: string): boolean {
  return workspaceTableNames.some((name) => new RegExp(`\\b${name}\\b`).test(query));
}

function problems(query: string): string[] {
  return analyzeKusto(query, usesWorkspace(query) ? workspace : applicationInsights)
    .filter((diagnostic) => diagnostic.severity !== 'Suggestion')
    .map(
      (diagnostic) =>
        `${diagnostic.severity} ${diagnostic.code} at "${diagnostic.at}": ${diagnostic.message}`,
    );
}

describe('shipped Kusto queries (Microsoft Kusto parser, Application Insights schema)', () => {
  test('the checker finds every place we ship queries from', () => {
    const files = new Set(queries.map((query) => query.where.split(':')[0]));
    expect([...files].sort()).toEqual(
      expect.arrayContaining(['README.md', 'docs/app.md', 'docs/deploy.md', 'scripts/deploy.sh']),
    );
    expect(queries.length).toBeGreaterThan(15);
    expect(queries.some((query) => usesWorkspace(query.text))).toBe(true);
  });

  test('the checker rejects what the portal rejects', () => {
    // `kind` is a Kusto keyword: as a column name it must be bracketed.
    expect(problems('traces | extend kind = tostring(split(message, " ")[0])')).toEqual([
      expect.stringContaining('KS228'),
    ]);
    expect(problems('traces | project timestamp, nosuchcolumn')).toEqual([
      expect.stringContaining('nosuchcolumn'),
    ]);
    // The workspace table has TimeGenerated, not timestamp.
    expect(problems('AppTraces | where timestamp > ago(1h)')).not.toEqual([]);
    expect(problems('traces | where message startswith "EventProcessed " | take 1')).toEqual([]);
  });

  test.each(queries.map((query) => [query.where, query.text]))(
    '%s parses and analyzes cleanly',
    (_where, text) => {
      expect(problems(text)).toEqual([]);
    },
  );

  test('docs/deploy.md maps every Application Insights column the queries use to its workspace name', () => {
    const deployDocs = readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');
    const classic = queries.filter((query) => !usesWorkspace(query.text));
    const used = new Set<string>();
    for (const table of APPLICATION_INSIGHTS_TABLES) {
      for (const query of classic.filter((candidate) =>
        new RegExp(`\\b${table.name}\\b`).test(candidate.text),
      )) {
        for (const [column] of table.columns) {
          if (new RegExp(`\\b${column}\\b`).test(query.text)) used.add(`${table.name}.${column}`);
        }
      }
    }
    expect(used.size).toBeGreaterThan(5);
    for (const entry of used) {
      const [table, column] = entry.split('.');
      const mapped = workspaceColumn(table, column)!;
      const row = new RegExp(`^\\s*\\|\\s*\`${column}\`\\s*\\|\\s*\`${mapped}\`\\s*\\|`, 'm');
      expect([entry, mapped, row.test(deployDocs)]).toEqual([entry, mapped, true]);
    }
  });
});
