// tsx local/host/cli.ts [--app-root <dir>] [--port <n>] [--settings <file>] [--host-json <file>]
//                       [--functions a,b] [--record <file>] [--bind <address>]
//                       [--load-balancing-interval <ms>] [--ownership-expiration <ms>]
// Runs the compiled app like `func start`. Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
import { parseArgs } from 'node:util';
import { startHost } from './host';

const USAGE = `Usage: tsx local/host/cli.ts [options]

  --app-root <dir>                 app folder with package.json and host.json (default: .)
  --port <n>                       HTTP port; overrides Host.LocalHttpPort (default 7071, 0 = any free port)
  --settings <file>                settings file (default: <app-root>/local.settings.json)
  --host-json <file>               host.json to use (default: <app-root>/host.json)
  --functions <a,b>                run only these functions
  --record <file>                  append one JSON line per invocation to <file>
  --bind <address>                 address to listen on (default 127.0.0.1)
  --load-balancing-interval <ms>   Event Hubs partition load-balancing interval (default 10000)
  --ownership-expiration <ms>      Event Hubs partition ownership expiry (default 60000)
  --help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'app-root': { type: 'string' },
      port: { type: 'string', short: 'p' },
      settings: { type: 'string' },
      'host-json': { type: 'string' },
      functions: { type: 'string' },
      record: { type: 'string' },
      bind: { type: 'string' },
      'load-balancing-interval': { type: 'string' },
      'ownership-expiration': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const host = await startHost({
    appRoot: values['app-root'],
    port: integer(values.port, '--port'),
    settingsFile: values.settings,
    hostJsonFile: values['host-json'],
    functions: values.functions?.split(',').map((name) => name.trim()),
    recordFile: values.record,
    bindAddress: values.bind,
    loadBalancing: {
      updateIntervalMs: integer(values['load-balancing-interval'], '--load-balancing-interval'),
      ownershipExpirationMs: integer(values['ownership-expiration'], '--ownership-expiration'),
    },
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    host.stop().then(
      () => process.exit(0),
      (error) => {
        console.error(`Stopping failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new Error(`${flag} must be a whole number, got "${value}"`);
  return number;
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
