// `npm start` (and `npm run start:func` = `--func`): the whole local pipeline in one command.
// See docs/local-development.md.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './childProcess';
import { DEFAULT_HEALTH_PORT, DEFAULT_TLS_PORT } from '@local/eventhubs-emulator/defaults';
import { type RunningStack, startStack } from './stack';

const USAGE = `Usage: npm start [-- options]      (npm run start:func = npm start -- --func)

  --func                        run Core Tools (func start) instead of the local host
  --port <n>                    HTTP port of the Functions host (default: Host.LocalHttpPort, 7071)
  --emulator-health-port <n>    health port of the Event Hubs emulator (default ${DEFAULT_HEALTH_PORT})
  --emulator-tls-port <n>       its AMQP over TLS port (default ${DEFAULT_TLS_PORT}, the port Python's azure-eventhub dials)
  --explorer-port <n>           port of the explorer page (default: EXPLORER_PORT, else the host's port + 10: 7081)
  --no-explorer                 do not serve the explorer
  --emulator-websocket-port <n> also serve AMQP over WebSockets (wss and ws) on this port (default: off)
  --app-root <dir>              the app folder (default: this repository)
  --help

Everything else comes from local.settings.json (created from local.settings.example.json).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      func: { type: 'boolean' },
      port: { type: 'string' },
      'emulator-health-port': { type: 'string' },
      'emulator-tls-port': { type: 'string' },
      'explorer-port': { type: 'string' },
      'no-explorer': { type: 'boolean' },
      'emulator-websocket-port': { type: 'string' },
      'app-root': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  // Handlers first: a Ctrl-C or a closed terminal while services are still starting must not leave
  // them behind. Until the stack is up, leaving is enough: every child stops by itself once this
  // process is gone (EXIT_WITH_PARENT).
  let stack: RunningStack | undefined = undefined;
  let stopping = false;
  let firstSignalAt = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP') ignoreOutputErrors();
    // A wrapper (npm, a shell) may relay the terminal's Ctrl-C a moment after the terminal itself sent
    // it: only a second Ctrl-C that a person pressed counts as "stop waiting".
    if (stopping && Date.now() - firstSignalAt < 1000) return;
    if (!stack) {
      console.log(`${signal} while starting: stopping what was started.`);
      process.exit(130);
    }
    if (stopping) {
      console.log('Ctrl-C again: killing everything without waiting.');
      stack.kill();
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    stack.stop().then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

  stack = await startStack({
    appRoot: values['app-root'] ? path.resolve(values['app-root']) : REPO_ROOT,
    useCoreTools: values.func,
    port: port(values.port, '--port'),
    emulatorHealthPort: port(values['emulator-health-port'], '--emulator-health-port'),
    emulatorTlsPort: port(values['emulator-tls-port'], '--emulator-tls-port'),
    explorerPort: values['no-explorer'] ? false : port(values['explorer-port'], '--explorer-port'),
    emulatorWebSocketPort: port(values['emulator-websocket-port'], '--emulator-websocket-port'),
  });
  const code = await stack.hostExited;
  if (!stopping) {
    console.error(`The Functions host exited unexpectedly (code ${code}); stopping the rest.`);
    await stack.stop();
    process.exit(code || 1);
  }
}

/** After SIGHUP the terminal is gone: writing to it fails, and that must not cut the orderly stop short. */
function ignoreOutputErrors(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
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
