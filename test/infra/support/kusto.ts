// Microsoft's own Kusto parser and semantic analyzer (@kusto/language-service-next, the Kusto.Language
// library compiled to JavaScript) checking a query against a table schema: syntax errors, unknown
// columns or functions, and type errors are all reported as diagnostics, as the portal's editor does.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { TableSchema } from './appInsightsSchema';

/* eslint-disable @typescript-eslint/no-explicit-any -- the library is Bridge.NET output with loose typings */
type KustoNamespace = any;

let kusto: KustoNamespace | undefined;

/**
 * The library's scripts assign `Bridge` and `Kusto` to the global object of the context that runs
 * them (a plain `require` under jest would bind them to the module instead), so they run as scripts.
 */
function load(): KustoNamespace {
  if (kusto !== undefined) return kusto;
  const dir = path.dirname(require.resolve('@kusto/language-service-next/package.json'));
  for (const file of ['bridge.min.js', 'Kusto.Language.Bridge.min.js']) {
    vm.runInThisContext(readFileSync(path.join(dir, file), 'utf8'), { filename: file });
  }
  kusto = vm.runInThisContext('Kusto.Language');
  return kusto;
}

export interface KustoDiagnostic {
  severity: string;
  code: string;
  message: string;
  /** The text the diagnostic points at. */
  at: string;
}

/** A database holding the given tables; queries are analyzed with it in scope. */
export function kustoDatabase(name: string, tables: TableSchema[]): unknown {
  const language = load();
  const bridge = vm.runInThisContext('Bridge');
  const symbols = tables.map(
    (table) =>
      new language.Symbols.TableSymbol.$ctor7(
        table.name,
        `(${table.columns.map(([column, type]) => `['${column}']:${type}`).join(', ')})`,
        null,
      ),
  );
  return new language.Symbols.DatabaseSymbol.$ctor1(name, bridge.toList(symbols), false);
}

/** Errors and warnings the analyzer reports for a query against a database. */
export function analyzeKusto(query: string, database: unknown): KustoDiagnostic[] {
  const language = load();
  const globals = language.GlobalState.Default.WithDatabase(database);
  const code = language.KustoCode.ParseAndAnalyze(query, globals);
  const diagnostics = code.GetDiagnostics();
  const found: KustoDiagnostic[] = [];
  for (let index = 0; index < diagnostics.Count; index++) {
    const diagnostic = diagnostics.getItem(index);
    found.push({
      severity: String(diagnostic.Severity),
      code: String(diagnostic.Code),
      message: String(diagnostic.Message),
      at: query.slice(diagnostic.Start, diagnostic.Start + Math.max(diagnostic.Length, 1)),
    });
  }
  return found;
}
