// The server's own bookkeeping, which no client can see: a connection closed for a fault before
// the client's open is forgotten. (Moved from test/integration/emulator/hostileFrames.test.ts: it
// reads the server's private connection set.)
import { array32 } from '../../../test/integration/emulator/amqpBytes';
import { waitFor } from '../../../test/support/waitFor';
import { AMQP_HEADER, frame, RawAmqp } from '../../../test/integration/emulator/rawAmqp';
import { defaultNamespace } from '../config';
import { ProducerRegistry } from '../idempotence';
import { createLogger } from '../logger';
import { OwnershipRegistry } from '../ownership';
import { DEFAULT_SAS_KEY } from '../sas';
import { AmqpServer } from '../server';
import { EventStore } from '../store/eventStore';

describe('connection state', () => {
  test('a connection closed for a fault before the client’s open leaves nothing behind', async () => {
    const lines: string[] = [];
    const logger = createLogger('warn', (line) => lines.push(line));
    const namespace = defaultNamespace();
    const store = await EventStore.open(
      namespace,
      { retentionMs: 3_600_000, retentionBytes: 1 << 20, now: Date.now },
      undefined,
      logger,
    );
    const server = new AmqpServer({
      namespace,
      store,
      ownership: new OwnershipRegistry(),
      producers: new ProducerRegistry(),
      sasKeys: [DEFAULT_SAS_KEY],
      logger,
    });
    // The server's live connections (private: nothing else shows them).
    const clients = (server as unknown as { clients: Set<unknown> }).clients;
    try {
      const raw = await RawAmqp.connect(await server.listenPlain('127.0.0.1', 0), { open: false });
      raw.send(Buffer.concat([AMQP_HEADER, frame(array32(3, 0x40))]));
      expect((await raw.closeError())?.condition).toBe('amqp:invalid-field');
      await waitFor(() => clients.size === 0, { what: 'the connection to be forgotten', timeoutMs: 15_000 });
    } finally {
      await server.close();
      await store.close();
    }
  });
});
