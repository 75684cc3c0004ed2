// The emulator's command line, run as users run it: --help, flags for entities, clear startup
// errors (port in use, bad config) and a clean shutdown on SIGTERM.
import { earliestEventPosition, EventHubProducerClient } from '@azure/event-hubs';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { exited, receiveEvents, spawnCli, waitForReady } from './helpers';
import { emulatorConnectionString } from '../../support/connectionStrings';
import { tempDir } from '../../support/tempDir';
import { waitFor } from '../../support/waitFor';

jest.setTimeout(30_000);

async function run(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await exited(child);
  return { code, stdout, stderr };
}

async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('emulator CLI', () => {
  test('--help documents every flag', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--host',
      '--port',
      '--health-port',
      '--tls',
      '--tls-port',
      '--tls-cert',
      '--tls-key',
      '--tls-cert-dir',
      '--websocket',
      '--websocket-port',
      '--config',
      '--hub',
      '--partitions',
      '--consumer-group',
      '--data-dir',
      '--retention',
      '--retention-size',
      '--sas-key-name',
      '--sas-key',
      '--log-level',
      '--help',
    ]) {
      expect(stdout).toMatch(new RegExp(`^\\s+(-h, )?${flag}\\b`, 'm'));
    }
    expect(stdout).toContain('UseDevelopmentEmulator=true');
  });

  test('an unknown flag or a bad value is a usage error (exit 2)', async () => {
    const unknown = await run(['--partition-count', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--partition-count'/);
    const bad = await run(['--partitions', '40']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--partitions must be 1..32');
    const retention = await run(['--retention', 'forever']);
    expect(retention.stderr).toContain('--retention must be a duration like 90s, 30m, 1h or 7d');
  });

  test('a port in use names the port and the flag that changes it', async () => {
    const busy = await occupiedPort();
    try {
      const amqp = await run(['--port', String(busy.port), '--health-port', '0']);
      expect(amqp.code).toBe(1);
      expect(amqp.stderr).toContain(`AMQP port 127.0.0.1:${busy.port} is already in use`);
      expect(amqp.stderr).toContain(`--port <n>, or --port 0 for a free one`);
      const health = await run(['--port', '0', '--health-port', String(busy.port)]);
      expect(health.code).toBe(1);
      expect(health.stderr).toContain(`health port 127.0.0.1:${busy.port} is already in use`);
      expect(health.stderr).toContain('--health-port');
    } finally {
      await busy.close();
    }
  });

  test('a bad config file names the path of the bad field', async () => {
    const dir = tempDir('cli-config');
    try {
      const file = path.join(dir.path, 'Config.json');
      writeFileSync(
        file,
        JSON.stringify({
          UserConfig: {
            NamespaceConfig: [
              {
                Type: 'EventHub',
                Name: 'emulatorNs1',
                Entities: [
                  { Name: 'eh1', PartitionCount: '2', ConsumerGroups: [] },
                  { Name: 'eh2', PartitionCount: '64', ConsumerGroups: [] },
                ],
              },
            ],
            LoggingConfig: { Type: 'File' },
          },
        }),
      );
      const result = await run(['--config', file, '--port', '0', '--health-port', '0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'invalid configuration: ' +
          `${file}: UserConfig.NamespaceConfig[0].Entities[1].PartitionCount must be 1..32`,
      );
    } finally {
      dir.remove();
    }
  });

  test('flags define the hub; SIGTERM stops cleanly and flushes the store', async () => {
    const dir = tempDir('cli-flags');
    const child = spawnCli([
      ...['--port', '0', '--health-port', '0', '--data-dir', dir.path],
      ...['--hub', 'orders', '--partitions', '2', '--consumer-group', 'audit', '--consumer-group', 'billing'],
    ]);
    try {
      const { amqpPort, output } = await waitForReady(child);
      expect(output.stdout).toContain('hubs: orders (2 partitions)');
      const connectionString = emulatorConnectionString(amqpPort);
      // The line after the ready line.
      await waitFor(() => output.stdout.includes('connection string: '), {
        what: 'the connection string line',
        timeoutMs: 15_000,
      });
      expect(output.stdout).toContain(`connection string: ${connectionString}`);
      const producer = new EventHubProducerClient(connectionString, 'orders');
      expect(await producer.getPartitionIds()).toEqual(['0', '1']);
      await producer.sendBatch([{ body: 'kept' }], { partitionId: '1' });
      await producer.close();
      for (const consumerGroup of ['audit', 'billing', '$default']) {
        const events = await receiveEvents(connectionString, 'orders', '1', earliestEventPosition, 1, {
          consumerGroup,
        });
        expect(events.map((e) => e.body)).toEqual(['kept']);
      }
      expect(existsSync(path.join(dir.path, '.lock'))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
      expect(output.stdout).toMatch(/SIGTERM: stopping[\s\S]*Event Hubs emulator stopped/);
      expect(existsSync(path.join(dir.path, '.lock'))).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      dir.remove();
    }
  });

  test('a custom SAS key from the environment is used and never printed', async () => {
    const child = spawnCli(['--port', '0', '--health-port', '0', '--log-level', 'debug'], {
      EVENTHUBS_EMULATOR_SAS_KEY: 'my-local-secret-key',
    });
    try {
      const { amqpPort, output } = await waitForReady(child);
      const producer = new EventHubProducerClient(
        emulatorConnectionString(amqpPort).replace('SAS_KEY_VALUE', 'my-local-secret-key'),
        'events',
      );
      expect(await producer.getPartitionIds()).toHaveLength(4);
      await producer.close();
      child.kill('SIGINT');
      expect(await exited(child)).toBe(0);
      expect(output.stdout).toContain('SharedAccessKey=<your key>');
      expect(output.stdout + output.stderr).not.toContain('my-local-secret-key');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
