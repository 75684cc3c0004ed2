// `npm start` (local/stack) on a throwaway app folder whose settings name free ports: it creates
// local.settings.json from the example, starts Azurite, the emulator and the host, and the pipeline
// works; a second stack reuses the running Azurite and emulator; a port held by something else is
// reported with the setting that moves it; and the `npm start` process (local/stack/cli.ts) leaves
// no child behind when it is killed, interrupted while starting, or loses its terminal.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { TsChild } from '../../local/stack/childProcess';
import { startEmulatorProcess } from '../../local/stack/processes';
import WebSocket from 'ws';
import { type RunningStack, type StackOptions, startStack } from '../../local/stack/stack';
import { waitFor } from '../support/waitFor';
import { freePort, freeStackPorts, stackFolder, type StackPorts } from './support/stackFolder';

jest.setTimeout(120_000);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(
  dir: string,
  ports: StackPorts,
  output: string[],
  more: Partial<StackOptions> = {},
): Promise<RunningStack> {
  return startStack({
    appRoot: dir,
    port: 0,
    emulatorHealthPort: ports.health,
    emulatorTlsPort: 0,
    print: (line) => output.push(line),
    ...more,
  });
}

test('npm start brings up the whole pipeline; a second stack reuses the running emulators', async () => {
  const ports = await freeStackPorts();
  const dir = stackFolder(ports);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  const output: string[] = [];
  const webSocketPort = await freePort();
  const stack = await start(dir, ports, output, { emulatorWebSocketPort: webSocketPort });
  cleanups.push(() => stack.stop());
  expect(existsSync(path.join(dir, 'local.settings.json'))).toBe(true);
  const text = output.join('\n');
  expect(text).toContain('Created local.settings.json from local.settings.example.json');
  expect(text).toContain(`Azurite at 127.0.0.1:${ports.blob} (started`);
  expect(text).toContain(
    `Event Hubs emulator at 127.0.0.1:${ports.amqp}, hub 'events', consumer group 'processor' (started`,
  );
  expect(text).toContain(`curl -i -X POST ${stack.url}/api/events -H 'Content-Type: application/json'`);
  // --emulator-websocket-port: the emulator serves AMQP over WebSockets there (webSocket.test.ts has the SDKs).
  expect(text).toContain(`AMQP over WebSockets (every SDK): Endpoint=sb://localhost:${webSocketPort};`);
  const webSocket = new WebSocket(`ws://127.0.0.1:${webSocketPort}/$servicebus/websocket`, ['AMQPWSB10']);
  await new Promise((resolve, reject) => webSocket.once('open', resolve).once('error', reject));
  webSocket.close();

  const response = await fetch(`${stack.url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '[{"stack":"first"},{"stack":"second"}]',
  });
  expect(response.status).toBe(202);
  await waitFor(
    () =>
      output.filter((line) => / EventProcessed \{.*"body":"\{\\"stack\\"/.test(line)).length === 2
        ? true
        : undefined,
    { what: 'the consumer lines in the stack output', timeoutMs: 30_000 },
  );

  const secondOutput: string[] = [];
  const second = await start(dir, ports, secondOutput);
  cleanups.push(() => second.stop());
  expect(secondOutput.join('\n')).toContain(`Azurite at 127.0.0.1:${ports.blob} (already running; reused)`);
  expect(secondOutput.join('\n')).toContain(
    `Event Hubs emulator at 127.0.0.1:${ports.amqp} (already running; reused)`,
  );
  await second.stop();
  // Stopping the second stack leaves the first one's emulators running.
  expect((await fetch(`http://127.0.0.1:${ports.health}/health`)).status).toBe(200);

  await stack.stop();
  await waitFor(
    async () => {
      try {
        await fetch(`http://127.0.0.1:${ports.health}/health`);
        return undefined;
      } catch {
        return true;
      }
    },
    { what: 'the emulator to be stopped', timeoutMs: 10_000 },
  );
});

test('a port taken by something else is named, with the setting that changes it', async () => {
  const ports = await freeStackPorts();
  const dir = stackFolder(ports);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const squatter: Server = createServer((_req, res) => res.end('not azurite'));
  await new Promise<void>((resolve) => squatter.listen(ports.blob, '127.0.0.1', resolve));
  cleanups.push(() => {
    squatter.closeAllConnections();
    if (squatter.listening) squatter.close();
  });

  await expect(start(dir, ports, [])).rejects.toThrow(
    new RegExp(
      `Port ${ports.blob} \\(Azurite's blob port\\) answers, but not as Azurite.*AzureWebJobsStorage in local\\.settings\\.json`,
    ),
  );

  squatter.closeAllConnections();
  await new Promise((resolve) => squatter.close(resolve));
  const amqpSquatter = createServer();
  await new Promise<void>((resolve) => amqpSquatter.listen(ports.amqp, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => amqpSquatter.close(() => resolve())));
  await expect(start(dir, ports, [])).rejects.toThrow(
    new RegExp(
      `Port ${ports.amqp} \\(Event Hubs AMQP\\) is in use .*Endpoint of EventHubConnection in local\\.settings\\.json`,
    ),
  );
  // Nothing was left running: Azurite, started before the failure, was stopped again.
  expect(
    await fetch(`http://127.0.0.1:${ports.blob}/`).then(
      () => 'answering',
      () => 'closed',
    ),
  ).toBe('closed');
});

test('a running emulator without the consumer group is not reused: npm start names the group and the fix', async () => {
  const ports = await freeStackPorts();
  const dir = stackFolder(ports);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const emulator = await startEmulatorProcess({
    amqpPort: ports.amqp,
    healthPort: ports.health,
    hub: { name: 'events', consumerGroups: ['other'] },
  });
  cleanups.push(() => emulator.stop());

  const attempt = start(dir, ports, []);
  cleanups.push(() =>
    attempt.then(
      (stack) => stack.stop(),
      () => undefined,
    ),
  );
  await expect(attempt).rejects.toThrow(
    /The Event Hubs emulator already running on port \d+ has no consumer group 'processor' in hub 'events'/,
  );
});

/** Live processes (not zombies) whose command line mentions `text`: what a stack in `text` started. */
function processesMentioning(text: string): string[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(text) && !/^\s*\d+\s+Z/.test(line));
}

function startStackCli(dir: string, ports: StackPorts): TsChild {
  const cli = new TsChild('npm start', 'local/stack/cli.ts', {
    args: [
      '--app-root',
      dir,
      '--port',
      '0',
      '--emulator-health-port',
      String(ports.health),
      '--emulator-tls-port',
      '0',
    ],
  });
  cleanups.push(async () => {
    await cli.kill();
    // Whatever the stack left (only when a test below fails): not for the next test to trip over.
    for (const line of processesMentioning(dir)) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
  });
  return cli;
}

function untilNothingLeft(dir: string): Promise<true> {
  return waitFor(() => (processesMentioning(dir).length === 0 ? true : undefined), {
    what: `no process of the stack in ${dir}`,
    timeoutMs: 30_000,
  });
}

test('the npm start process killed with SIGKILL takes Azurite, the emulator and the host with it', async () => {
  const ports = await freeStackPorts();
  const dir = stackFolder(ports);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = startStackCli(dir, ports);
  await cli.waitForLine(/Local pipeline ready:/, 90_000);
  const children = processesMentioning(dir).filter((line) => !line.includes('local/stack/cli.ts'));
  expect(
    children.map((line) => /azurite\.js|emulator\/cli\.ts|host\/cli\.ts/.exec(line)?.[0]).sort(),
  ).toEqual(['azurite.js', 'emulator/cli.ts', 'host/cli.ts']);

  await cli.kill();
  await untilNothingLeft(dir);
});

test('Ctrl-C while npm start is still starting leaves nothing behind', async () => {
  const ports = await freeStackPorts();
  const dir = stackFolder(ports);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = startStackCli(dir, ports);
  await cli.waitForLine(/Starting the Event Hubs emulator\.\.\./, 60_000);
  expect(processesMentioning(dir).some((line) => line.includes('azurite.js'))).toBe(true);

  cli.process.kill('SIGINT');
  expect(await cli.exited).toEqual({ code: 130, signal: null });
  await untilNothingLeft(dir);
});

test('a closed terminal (SIGHUP) stops npm start in order, like Ctrl-C', async () => {
  const ports = await freeStackPorts();
  const dir = stackFolder(ports);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = startStackCli(dir, ports);
  await cli.waitForLine(/Local pipeline ready:/, 90_000);

  cli.process.kill('SIGHUP');
  expect(await cli.exited).toEqual({ code: 0, signal: null });
  expect(cli.lines).toContain('Stopped.');
  await untilNothingLeft(dir);
});
