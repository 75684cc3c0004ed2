// What the operator command lines share: where to connect (options), how they end (exit codes, errors
// as one readable line, never a stack for an expected failure).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SettingsError } from '../../src/lib/settings';
import { Operations } from './operations';

export const CONNECTION_HELP = `Where (default: ./local.settings.json, then the environment, as the app reads its settings):
  --settings <file>           another local.settings.json
  --namespace <name>          Event Hubs namespace in Azure (name or FQDN), signed in with DefaultAzureCredential
  --storage-account <name>    the app's storage account in Azure (checkpoints, dead letters), same sign-in
  --hub <name>                instead of EVENTHUB_NAME
  --consumer-group <name>     instead of EVENTHUB_CONSUMER_GROUP
  --json                      machine-readable output`;

const CONNECTION_OPTIONS = {
  settings: { type: 'string' },
  namespace: { type: 'string' },
  'storage-account': { type: 'string' },
  hub: { type: 'string' },
  'consumer-group': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options: { ...CONNECTION_OPTIONS, ...options }, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function operationsFrom(values: Record<string, unknown>): Operations {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return Operations.fromOptions({
    settingsFile: text('settings'),
    namespace: text('namespace'),
    storageAccount: text('storage-account'),
    eventHubName: text('hub'),
    consumerGroup: text('consumer-group'),
  });
}

/** Runs a command: exit 0, 1 when it failed (or reported failures), 2 for a usage error. */
export function runCommand(usage: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      if (error instanceof UsageError || error instanceof RangeError) {
        console.error(`${error.message}\n\n${usage}`);
        process.exit(2);
      }
      const hint =
        error instanceof SettingsError
          ? ' (settings come from local.settings.json and the environment; see --help)'
          : '';
      console.error(`${error instanceof Error ? error.message : String(error)}${hint}`);
      process.exit(1);
    },
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    );
}
