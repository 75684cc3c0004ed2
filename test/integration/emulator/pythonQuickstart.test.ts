// The Python quickstart flow (test/clients/python/send.py and recv.py, unmodified, configured by
// environment only) against the emulator over TLS and Azurite: events sent are received and
// checkpointed in blob storage, and a second run receives nothing already checkpointed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { type RunningAzurite, startAzurite } from '../../../local/azurite';
import { CLIENTS_DIR, checkPython, PYTHON } from '../../clients/runClients';
import { exited, startWithPythonTls, type InProcessEmulator } from './helpers';
import { tempDir } from '../../support/tempDir';

jest.setTimeout(120_000);

async function runScript(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(PYTHON, [path.join(CLIENTS_DIR, 'python', script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await exited(child);
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${output}`);
  return output;
}

describe('the Python quickstart scripts', () => {
  const dirs = { tls: tempDir('py-tls'), azurite: tempDir('py-azurite') };
  let emulator: InProcessEmulator;
  let azurite: RunningAzurite;

  beforeAll(async () => {
    checkPython();
    emulator = await startWithPythonTls(dirs.tls.path, { logLevel: 'info' });
    // --loose: the Python checkpoint store sends x-ms-encryption-algorithm (as npm start's Azurite).
    azurite = await startAzurite({
      location: dirs.azurite.path,
      blobPort: 0,
      queuePort: 0,
      tablePort: 0,
      loose: true,
    });
  });

  afterAll(async () => {
    await emulator?.stop();
    await azurite?.stop();
    dirs.tls.remove();
    dirs.azurite.remove();
  });

  test('send.py, then recv.py receives and checkpoints; a second recv.py receives nothing', async () => {
    const env = {
      EVENT_HUB_CONN_STR: emulator.tlsConnectionString!,
      EVENT_HUB_NAME: 'events',
      CONNECTION_VERIFY: emulator.tlsCertFile!,
      BLOB_STORAGE_CONN_STR: azurite.connectionString,
      BLOB_CONTAINER_NAME: 'python-checkpoints',
      // Stop once every partition is read and nothing has come for a while (the script's own option).
      RECV_IDLE_EXIT_SECONDS: '3',
    };
    expect(await runScript('send.py', env)).toMatch(/Sent 3 events to events/);
    const received = (output: string) => output.match(/Received the event: "([^"]*)"/g) ?? [];
    const partitionsRead = (output: string) => new Set(output.match(/Reading partition "\d+"/g)).size;

    const first = await runScript('recv.py', env);
    expect(received(first)).toEqual([
      'Received the event: "First event"',
      'Received the event: "Second event"',
      'Received the event: "Third event"',
    ]);
    expect(partitionsRead(first)).toBe(4);

    const second = await runScript('recv.py', env);
    expect(partitionsRead(second)).toBe(4);
    expect(received(second)).toEqual([]);
  });
});
