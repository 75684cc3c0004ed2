// The optional TLS listener: a client without an emulator mode (the SDK with a plain connection
// string, or a TokenCredential) connects by trusting the generated certificate, as a user would
// with NODE_EXTRA_CA_CERTS.
import { EventHubProducerClient, type MessagingError } from '@azure/event-hubs';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CERT_FILE_NAME, KEY_FILE_NAME } from '@local/eventhubs-emulator';
import { exited, FAST_FAIL, ROOT, startEmulatorInProcess } from './helpers';
import { tempDir } from '../../support/tempDir';

jest.setTimeout(30_000);

// Runs in a separate Node process so NODE_EXTRA_CA_CERTS applies from startup, as it must.
const CLIENT_SCRIPT = `
const { EventHubProducerClient } = require('@azure/event-hubs');
const [connectionString, port] = process.argv.slice(1);
const result = {};
(async () => {
  const producer = new EventHubProducerClient(connectionString, 'events');
  await producer.sendBatch([{ body: 'over tls' }], { partitionId: '0' });
  result.lastSequenceNumber = (await producer.getPartitionProperties('0')).lastEnqueuedSequenceNumber;
  await producer.close();
  const jwtCredential = { getToken: async () => ({ token: 'eyJhbGciOi.fake.jwt', expiresOnTimestamp: Date.now() + 3600000 }) };
  const withIdentity = new EventHubProducerClient('localhost:' + port, 'events', jwtCredential, {
    retryOptions: { maxRetries: 0, timeoutInMs: 5000 },
  });
  try {
    await withIdentity.getPartitionIds();
  } catch (error) {
    result.jwtError = { code: error.code, message: error.message };
  }
  await withIdentity.close();
})().then(
  () => process.stdout.write(JSON.stringify(result)),
  (error) => process.stdout.write(JSON.stringify({ failed: String(error) })),
);
`;

function runClient(args: string[], env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['-e', CLIENT_SCRIPT, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return exited(child).then(() => {
    try {
      return JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`client output: ${stdout}\n${stderr}`);
    }
  });
}

describe('emulator TLS listener', () => {
  const certDir = tempDir('tls');
  afterAll(() => certDir.remove());

  test('a client trusting the generated certificate connects over TLS; a JWT gets a clear refusal', async () => {
    const emulator = await startEmulatorInProcess({ tls: { port: 0, certDir: certDir.path } });
    try {
      expect(emulator.tlsCertFile).toBe(path.join(certDir.path, CERT_FILE_NAME));
      expect(emulator.tlsConnectionString).toBe(
        `Endpoint=sb://localhost:${emulator.tlsPort};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;`,
      );
      const cert = new X509Certificate(readFileSync(emulator.tlsCertFile!));
      expect(cert.checkHost('localhost')).toBe('localhost');
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');

      const result = await runClient([emulator.tlsConnectionString!, String(emulator.tlsPort)], {
        NODE_EXTRA_CA_CERTS: emulator.tlsCertFile,
      });
      expect(result.lastSequenceNumber).toBe(0);
      expect(result.jwtError).toMatchObject({ code: 'UnauthorizedError' });
      expect((result.jwtError as { message: string }).message).toMatch(
        /does not accept JWT \(Microsoft Entra ID\) tokens/,
      );
    } finally {
      await emulator.stop();
    }
  });

  test('a client that does not trust the certificate is refused', async () => {
    const emulator = await startEmulatorInProcess({ tls: { port: 0, certDir: certDir.path } });
    const producer = new EventHubProducerClient(emulator.tlsConnectionString!, 'events', {
      retryOptions: FAST_FAIL,
    });
    try {
      const error = (await producer.getPartitionIds().catch((e) => e)) as MessagingError;
      expect(error.message).toMatch(/self[- ]signed certificate/);
    } finally {
      await producer.close();
      await emulator.stop();
    }
  });

  test('the generated certificate is reused, and a given certificate and key are served', async () => {
    const first = await startEmulatorInProcess({ tls: { port: 0, certDir: certDir.path } });
    const firstPem = readFileSync(first.tlsCertFile!, 'utf8');
    await first.stop();
    const second = await startEmulatorInProcess({ tls: { port: 0, certDir: certDir.path } });
    expect(readFileSync(second.tlsCertFile!, 'utf8')).toBe(firstPem);
    await second.stop();

    const given = await startEmulatorInProcess({
      tls: {
        port: 0,
        certFile: path.join(certDir.path, CERT_FILE_NAME),
        keyFile: path.join(certDir.path, KEY_FILE_NAME),
      },
    });
    try {
      const result = await runClient([given.tlsConnectionString!, String(given.tlsPort)], {
        NODE_EXTRA_CA_CERTS: given.tlsCertFile,
      });
      expect(result.lastSequenceNumber).toBe(0);
    } finally {
      await given.stop();
    }
  });
});
