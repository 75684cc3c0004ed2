// `npm start` (and `npm run start:func` = `--func`): the whole local pipeline in one command.
// See docs/local-development.md.
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './childProcess';
import { DEFAULT_EMULATOR_HEALTH_PORT, startStack } from './stack';

const USAGE = `Usage: npm start [-- options]      (npm run start:func = npm start -- --func)

  --func                        run Core Tools (func start) instead of the local host
  --port <n>                    HTTP port of the Functions host (default: Host.LocalHttpPort, 7071)
  --emulator-health-port <n>    health port of the Event Hubs emulator (default ${DEFAULT_EMULATOR_HEALTH_PORT})
  --help

Everything else comes from local.settings.json (created from local.settings.example.json).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      func: { type: 'boolean' },
      port: { type: 'string' },
      'emulator-health-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const stack = await startStack({
    appRoot: REPO_ROOT,
    useCoreTools: values.func,
    port: port(values.port, '--port'),
    emulatorHealthPort: port(values['emulator-health-port'], '--emulator-health-port'),
  });

  let stopping = false;
  let firstSignalAt = 0;
  const stop = () => {
    // A wrapper (npm, a shell) may relay the terminal's Ctrl-C a moment after the terminal itself sent
    // it: only a second Ctrl-C that a person pressed counts as "stop waiting".
    if (stopping && Date.now() - firstSignalAt < 1000) return;
    if (stopping) {
      console.log('Ctrl-C again: killing everything without waiting.');
      stack.kill();
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await stack.hostExited;
  if (!stopping) {
    console.error(`The Functions host exited unexpectedly (code ${code}); stopping the rest.`);
    await stack.stop();
    process.exit(code || 1);
  }
}

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new Error(`${flag} must be a port number`);
  return number;
}

main().catch((error: Error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
