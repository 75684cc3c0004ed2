// CBS: SAS tokens are validated (key, expiry, audience), JWTs are refused with a clear message,
// and links need a token; logs never contain keys or tokens.
import { EventHubProducerClient, type MessagingError } from '@azure/event-hubs';
import { FAST_FAIL, sendBodies, startEmulatorInProcess, type InProcessEmulator } from './helpers';
import { EMULATOR_KEY } from '../../support/connectionStrings';
import { RawClient, sasToken } from './rawClient';

describe('emulator authorization', () => {
  let emulator: InProcessEmulator;
  let endpoint: string;

  beforeAll(async () => {
    emulator = await startEmulatorInProcess();
    endpoint = `sb://127.0.0.1:${emulator.amqpPort}`;
  });

  afterAll(() => emulator.stop());

  async function propertiesError(connectionString: string): Promise<MessagingError> {
    const producer = new EventHubProducerClient(connectionString, 'events', { retryOptions: FAST_FAIL });
    try {
      return (await producer.getEventHubProperties().then(
        () => {
          throw new Error('expected the request to be refused');
        },
        (error) => error,
      )) as MessagingError;
    } finally {
      await producer.close();
    }
  }

  test('the official connection string works', async () => {
    const producer = new EventHubProducerClient(emulator.connectionString, 'events');
    try {
      expect((await producer.getEventHubProperties()).name).toBe('events');
    } finally {
      await producer.close();
    }
  });

  test('a wrong key is refused with 401 and says the signature is invalid', async () => {
    const error = await propertiesError(emulator.connectionString.replace(EMULATOR_KEY, 'not-the-key'));
    expect(error.code).toBe('UnauthorizedError');
    expect(error.message).toMatch(/^InvalidSignature: The token has an invalid signature/);
  });

  test('an unknown key name is refused', async () => {
    const error = await propertiesError(
      emulator.connectionString.replace('RootManageSharedAccessKey', 'SomeOtherPolicy'),
    );
    expect(error.code).toBe('UnauthorizedError');
    expect(error.message).toContain(`'SomeOtherPolicy' is not configured`);
  });

  test('an expired token is refused with its expiry time', async () => {
    const expired = sasToken(`${endpoint}/events`, 1_600_000_000);
    const error = await propertiesError(
      `Endpoint=${endpoint};SharedAccessSignature=${expired};UseDevelopmentEmulator=true;`,
    );
    expect(error.code).toBe('UnauthorizedError');
    expect(error.message).toMatch(
      /^ExpiredToken: The token is expired\. Expiration time: '2020-09-13T12:26:40\.000Z'/,
    );
  });

  test('a valid token for another hub does not grant this one', async () => {
    const other = sasToken(`${endpoint}/other`);
    const error = await propertiesError(
      `Endpoint=${endpoint};SharedAccessSignature=${other};UseDevelopmentEmulator=true;`,
    );
    expect(error.code).toBe('UnauthorizedError');
    expect(error.message).toContain('InvalidAudience');
  });

  test('a namespace-wide token grants every hub', async () => {
    const namespaceToken = sasToken(`${endpoint}/`);
    const producer = new EventHubProducerClient(
      `Endpoint=${endpoint};SharedAccessSignature=${namespaceToken};UseDevelopmentEmulator=true;`,
      'events',
    );
    try {
      await producer.sendBatch([{ body: 'with a namespace token' }]);
    } finally {
      await producer.close();
    }
  });

  test('a JWT is refused with a message that says what to do', async () => {
    const client = await RawClient.connect(emulator.amqpPort);
    try {
      const response = await client.putToken(`${endpoint}/events`, 'eyJhbGciOi.fake.jwt', 'jwt');
      expect(response['status-code']).toBe(401);
      expect(response['error-condition']).toBe('amqp:unauthorized-access');
      expect(response['status-description']).toMatch(/does not accept JWT \(Microsoft Entra ID\) tokens/);
      expect(response['status-description']).toMatch(/connection string/);
    } finally {
      client.close();
    }
  });

  test('put-token answers 202 Accepted for a valid token and 401 for a wrong key', async () => {
    const client = await RawClient.connect(emulator.amqpPort);
    try {
      const token = sasToken(`${endpoint}/events`);
      const response = await client.putToken(`${endpoint}/events`, token);
      expect(response).toMatchObject({ 'status-code': 202, 'status-description': 'Accepted' });
      const forged = sasToken(`${endpoint}/events`, undefined, 'guess');
      const refused = await client.putToken(`${endpoint}/events`, forged);
      expect(refused).toMatchObject({ 'status-code': 401, 'error-condition': 'amqp:unauthorized-access' });
    } finally {
      client.close();
    }
  });

  test('a link without a token is refused as unauthorized', async () => {
    const client = await RawClient.connect(emulator.amqpPort);
    try {
      const error = await client.attachReceiver('events/ConsumerGroups/$default/Partitions/0');
      expect(error?.condition).toBe('amqp:unauthorized-access');
      expect(error?.description).toContain(`'Listen' claim(s) are required`);
    } finally {
      client.close();
    }
  });

  test('configured keys replace the default one', async () => {
    const custom = await startEmulatorInProcess({ sasKeys: [{ name: 'app', key: 'custom-key-123' }] });
    try {
      const error = await propertiesError(custom.connectionString.replace('custom-key-123', EMULATOR_KEY));
      expect(error.code).toBe('UnauthorizedError');
      expect(custom.connectionString).toContain('SharedAccessKeyName=app;SharedAccessKey=custom-key-123');
      const producer = new EventHubProducerClient(custom.connectionString, 'events');
      try {
        expect(await producer.getPartitionIds()).toHaveLength(4);
      } finally {
        await producer.close();
      }
      expect(custom.logs.join('\n')).not.toContain('custom-key-123');
    } finally {
      await custom.stop();
    }
  });

  test('debug logs name entities but never keys, signatures or tokens', async () => {
    // Its own emulator and traffic: accepted and refused tokens, a JWT, a send.
    const own = await startEmulatorInProcess({ logLevel: 'debug' });
    try {
      const ownEndpoint = `sb://127.0.0.1:${own.amqpPort}`;
      await sendBodies(own.connectionString, 'events', ['logged?']);
      await propertiesError(own.connectionString.replace(EMULATOR_KEY, 'not-the-key'));
      const client = await RawClient.connect(own.amqpPort);
      try {
        await client.putToken(`${ownEndpoint}/events`, 'eyJhbGciOi.fake.jwt', 'jwt');
      } finally {
        client.close();
      }
      const logs = own.logs.join('\n');
      expect(logs).toContain(`put-token for ${ownEndpoint}/events accepted`);
      expect(logs).toMatch(/put-token for \S+ refused \(401\)/);
      expect(logs).not.toContain(EMULATOR_KEY);
      expect(logs).not.toContain('not-the-key');
      expect(logs).not.toContain('SharedAccessSignature');
      expect(logs).not.toMatch(/sig=/);
      expect(logs).not.toContain('eyJhbGciOi');
    } finally {
      await own.stop();
    }
  });
});
