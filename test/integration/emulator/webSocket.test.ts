// AMQP over WebSockets (--websocket): the three SDKs' WebSocket transports, unmodified, through
// the conformance drivers (test/clients/*) against the emulator's WebSocket port only: the
// JavaScript SDK with the `ws` package (wss), Python azure-eventhub with custom_endpoint_address
// (wss, aiohttp) and .NET with TransportType.AmqpWebSockets, with UseDevelopmentEmulator=true (ws)
// and with CustomEndpointAddress (wss).
// Then what the listener says to anything else, checked with a bare WebSocket client.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { MAX_WEBSOCKET_MESSAGE, WEBSOCKET_PATH } from '@local/eventhubs-emulator';
import type { Scenario } from '../../clients/js/conformance';
import {
  checkPython,
  ensureDotnetBuilt,
  runDotnet,
  runJs,
  runPython,
  scenarioResult,
  type ScenarioResults,
} from '../../clients/runClients';
import { startEmulatorInProcess, type InProcessEmulator } from './helpers';
import { tempDir } from '../../support/tempDir';
import { waitFor } from '../../support/waitFor';

jest.setTimeout(120_000);

const CLIENTS = ['js', 'python', 'dotnet'] as const;
type Client = (typeof CLIENTS)[number];
const SCENARIOS = ['properties', 'multipleReceivers'];
const hubOf = (client: Client | 'dotnet-wss', scenario: string) => `ws-${client}-${scenario}`.toLowerCase();

describe('AMQP over WebSockets', () => {
  const certDir = tempDir('websocket');
  let emulator: InProcessEmulator;
  const observed = {} as Record<Client, ScenarioResults>;
  let dotnetWss: ScenarioResults;

  beforeAll(async () => {
    checkPython();
    ensureDotnetBuilt();
    emulator = await startEmulatorInProcess({
      webSocket: { port: 0, certDir: certDir.path },
      hubs: [
        ...CLIENTS.flatMap((client) =>
          SCENARIOS.map((name) => ({ name: hubOf(client, name), partitionCount: 4 })),
        ),
        { name: hubOf('dotnet-wss', 'properties'), partitionCount: 4 },
      ],
    });
    const port = emulator.webSocketPort!;
    const scenarios = (client: Client): Scenario[] =>
      SCENARIOS.map((name) => ({ name, hub: hubOf(client, name) }));
    const runs: Record<Client, () => Promise<ScenarioResults>> = {
      js: () =>
        runJs({
          connectionString: emulator.webSocketConnectionString,
          webSocket: { caFile: emulator.tlsCertFile },
          scenarios: scenarios('js'),
        }),
      python: () =>
        runPython('conformance.py', {
          connectionString: emulator.webSocketConnectionString,
          caFile: emulator.tlsCertFile,
          customEndpointAddress: `sb://localhost:${port}`,
          scenarios: scenarios('python'),
        }),
      dotnet: () =>
        runDotnet({
          connectionString: emulator.webSocketConnectionString,
          transport: 'AmqpWebSockets',
          scenarios: scenarios('dotnet'),
        }),
    };
    const wss = async () => {
      // Without UseDevelopmentEmulator .NET uses TLS and drops the Endpoint's port; CustomEndpointAddress
      // names the port, and .NET on Linux trusts the CA file in SSL_CERT_FILE.
      dotnetWss = await runDotnet(
        {
          connectionString: emulator.webSocketConnectionString!.replace('UseDevelopmentEmulator=true;', ''),
          transport: 'AmqpWebSockets',
          customEndpointAddress: `sb://localhost:${port}`,
          scenarios: [{ name: 'properties', hub: hubOf('dotnet-wss', 'properties') }],
        },
        { SSL_CERT_FILE: emulator.tlsCertFile },
      );
    };
    await Promise.all([...CLIENTS.map(async (client) => (observed[client] = await runs[client]())), wss()]);
  });

  afterAll(async () => {
    await emulator?.stop();
    certDir.remove();
  });

  const resultOf = (client: Client, scenario: string) => scenarioResult(observed[client], client, scenario);

  describe.each(CLIENTS)('%s', (client) => {
    test('sends, and reads hub and partition properties (management READ)', () => {
      const { hub, partitions } = resultOf(client, 'properties');
      expect(hub).toEqual({
        name: hubOf(client, 'properties'),
        partitionIds: ['0', '1', '2', '3'],
        createdAtMs: expect.any(Number),
      });
      expect(partitions['1']).toMatchObject({
        beginSequenceNumber: 0,
        lastSequenceNumber: 2,
        isEmpty: false,
      });
    });

    test('receives from every partition on one connection', () => {
      expect(resultOf(client, 'multipleReceivers')).toEqual({
        bodies: { '0': 'p0', '1': 'p1', '2': 'p2', '3': 'p3' },
        errors: [],
      });
    });
  });

  test('each SDK asked as its source says: wss with AMQPWSB10 (JS, Python), ws with "amqp" and a trailing slash (.NET)', () => {
    const connections = emulator.logs.filter((line) => line.includes('WebSocket connection:'));
    const wss = connections.filter((line) => line.includes(`wss ${WEBSOCKET_PATH} (subprotocol AMQPWSB10`));
    // aiohttp (Python) names itself; the JavaScript SDK's `ws` client and .NET send no user agent.
    expect(wss.some((line) => line.includes('aiohttp/'))).toBe(true);
    expect(wss.some((line) => line.endsWith('(subprotocol AMQPWSB10)'))).toBe(true);
    expect(
      connections.some((line) => line.endsWith(`connection: ws ${WEBSOCKET_PATH}/ (subprotocol amqp)`)),
    ).toBe(true);
  });

  test('.NET over wss: CustomEndpointAddress, the certificate trusted through SSL_CERT_FILE', () => {
    expect(dotnetWss.properties).toMatchObject({
      result: {
        hub: { name: hubOf('dotnet-wss', 'properties') },
        partitions: { '1': { lastSequenceNumber: 2 } },
      },
    });
    expect(emulator.logs.some((line) => line.endsWith(`wss ${WEBSOCKET_PATH}/ (subprotocol amqp)`))).toBe(
      true,
    );
  });

  describe('to anything else', () => {
    const url = (path = WEBSOCKET_PATH) => `ws://127.0.0.1:${emulator.webSocketPort}${path}`;

    function refusal(target: string, protocols: string[]): Promise<{ status?: number; body: string }> {
      return new Promise((resolve, reject) => {
        const socket = new WebSocket(target, protocols);
        socket.once('open', () => reject(new Error('upgraded')));
        socket.once('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.once('end', () => resolve({ status: response.statusCode, body }));
        });
        socket.once('error', () => undefined);
      });
    }

    test('another path is 404, naming the path that is served', async () => {
      const answer = await refusal(url('/other'), ['AMQPWSB10']);
      expect(answer.status).toBe(404);
      expect(answer.body).toContain('AMQP over WebSockets is served at /$servicebus/websocket');
    });

    test('no AMQP subprotocol offered is 400', async () => {
      const answer = await refusal(url(), ['mqtt']);
      expect(answer).toEqual({
        status: 400,
        body: 'Sec-WebSocket-Protocol must offer AMQPWSB10 or amqp (got "mqtt")\n',
      });
    });

    test('a plain HTTP request is 426 Upgrade Required', async () => {
      const status = await new Promise<number | undefined>((resolve, reject) =>
        http
          .get(url().replace('ws:', 'http:'), (response) => {
            response.resume();
            resolve(response.statusCode);
          })
          .once('error', reject),
      );
      expect(status).toBe(426);
    });

    test('over wss, the AMQP header is answered; a text message closes with 1003', async () => {
      const socket = new WebSocket(
        url().replace('ws:', 'wss:').replace('127.0.0.1', 'localhost'),
        ['AMQPWSB10'],
        {
          ca: readFileSync(emulator.tlsCertFile!),
        },
      );
      const received: Buffer[] = [];
      let closeCode: number | undefined;
      socket.on('message', (data: Buffer) => received.push(data));
      socket.once('close', (code) => (closeCode = code));
      await new Promise((resolve) => socket.once('open', resolve));
      expect(socket.protocol).toBe('AMQPWSB10');
      socket.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0])); // "AMQP" SASL 1.0.0
      await waitFor(() => Buffer.concat(received).length >= 8, {
        what: 'the SASL header back',
        timeoutMs: 15_000,
      });
      expect(Buffer.concat(received).subarray(0, 8)).toEqual(
        Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]),
      );
      socket.send('not binary');
      await waitFor(() => closeCode !== undefined, { what: 'the close', timeoutMs: 15_000 });
      expect(closeCode).toBe(1003);
    });

    test('a message over the cap closes with 1009', async () => {
      const socket = new WebSocket(url(), ['amqp']);
      await new Promise((resolve) => socket.once('open', resolve));
      const closed = new Promise<number>((resolve) => socket.once('close', resolve));
      socket.send(Buffer.alloc(MAX_WEBSOCKET_MESSAGE + 1));
      expect(await closed).toBe(1009);
    });
  });
});

describe('AMQP over WebSockets is off by default and behind a flag', () => {
  test('no WebSocket listener unless asked for', async () => {
    const emulator = await startEmulatorInProcess();
    try {
      expect(emulator.webSocketPort).toBeUndefined();
      expect(emulator.webSocketConnectionString).toBeUndefined();
    } finally {
      await emulator.stop();
    }
  });

  test('a stop with a WebSocket client still connected closes it', async () => {
    const certDir = tempDir('websocket-stop');
    const emulator = await startEmulatorInProcess({ webSocket: { port: 0, certDir: certDir.path } });
    const socket = new WebSocket(`ws://127.0.0.1:${emulator.webSocketPort}${WEBSOCKET_PATH}`, ['amqp']);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await emulator.stop();
    await closed;
    certDir.remove();
  });
});
