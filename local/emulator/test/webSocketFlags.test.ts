// The CLI's WebSocket flags as parsed (moved from test/integration/emulator/webSocket.test.ts: it
// calls the CLI's parser, which is not part of the programmatic API).
import { parseCommandLine } from '../cli';

describe('AMQP over WebSockets is off by default and behind a flag', () => {
  test('--websocket-port turns it on without the TLS port; the certificate flags serve it', () => {
    expect(parseCommandLine(['--websocket-port', '0'])).toMatchObject({
      webSocket: { port: 0 },
      tls: undefined,
    });
    expect(parseCommandLine(['--websocket', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'])).toMatchObject({
      webSocket: { certFile: 'c.pem', keyFile: 'k.pem' },
      tls: undefined,
    });
    expect(parseCommandLine(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'])).toMatchObject({
      webSocket: undefined,
      tls: { certFile: 'c.pem', keyFile: 'k.pem' },
    });
  });
});
