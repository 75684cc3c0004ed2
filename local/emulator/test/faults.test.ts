// Internal faults, which no client can cause (they would be bugs), injected where they would
// surface: an exception in a connection handler is logged at error level, and an exception in a
// receiver woken by new events neither fails the send nor un-numbers stored events.
import { message as rheaMessage } from 'rhea';
import { type IncomingEvent, parseTransfer } from '../amqp/eventMessage';
import { defaultNamespace } from '../config';
import { ProducerRegistry } from '../idempotence';
import { createLogger, type LogLevel } from '../logger';
import { OwnershipRegistry } from '../ownership';
import { DEFAULT_SAS_KEY } from '../sas';
import { AmqpServer } from '../server';
import { EventStore } from '../store/eventStore';
import { tempDir } from '../../../test/support/tempDir';
import { waitFor } from '../../../test/support/waitFor';
import { RawClient } from '../../../test/integration/emulator/rawClient';

const RETENTION = { retentionMs: 3_600_000, retentionBytes: 1 << 20, now: Date.now };

function capturingLogger() {
  const lines: { level: LogLevel; line: string }[] = [];
  return { lines, logger: createLogger('debug', (line, level) => lines.push({ level, line })) };
}

function incoming(body: string): IncomingEvent[] {
  return parseTransfer(rheaMessage.encode({ body }), 0).events;
}

function append(store: EventStore, body: string): Promise<Error | undefined> {
  return new Promise((resolve) => store.hub('events')!.partitions[0].append(incoming(body), resolve));
}

describe('emulator internal faults', () => {
  test('an exception in a connection handler is logged at error level, with its stack', async () => {
    const { lines, logger } = capturingLogger();
    const namespace = defaultNamespace();
    const store = await EventStore.open(namespace, RETENTION, undefined, logger);
    // The fault: looking a hub up throws, as a bug in the store would.
    const faultyStore = Object.create(store) as EventStore;
    faultyStore.hub = (name: string) => {
      if (name === 'explode') throw new Error('injected fault');
      return store.hub(name);
    };
    const server = new AmqpServer({
      namespace,
      store: faultyStore,
      ownership: new OwnershipRegistry(),
      producers: new ProducerRegistry(),
      sasKeys: [DEFAULT_SAS_KEY],
      logger,
    });
    const port = await server.listenPlain('127.0.0.1', 0);
    const client = await RawClient.connect(port);
    try {
      void client.openSender('explode').catch(() => undefined);
      await waitFor(() => lines.some(({ line }) => line.includes('injected fault')), {
        what: 'the fault to be logged',
        timeoutMs: 15_000,
      });
      const logged = lines.find(({ line }) => line.includes('injected fault'))!;
      expect(logged.level).toBe('error');
      expect(logged.line).toMatch(/internal error, connection closed: Error: injected fault\n\s+at /);
    } finally {
      client.close();
      await server.close();
      await store.close();
    }
  });

  test('a receiver that throws when woken does not fail the send or renumber stored events', async () => {
    const dir = tempDir('faults');
    const { lines, logger } = capturingLogger();
    try {
      const store = await EventStore.open(defaultNamespace(), RETENTION, dir.path, logger);
      const log = store.hub('events')!.partitions[0].log;
      let wokenAfterTheFault = 0;
      log.onAppend(() => {
        throw new Error('injected receiver fault');
      });
      log.onAppend(() => wokenAfterTheFault++);
      expect(await append(store, 'first')).toBeUndefined();
      expect(await append(store, 'second')).toBeUndefined();
      expect([log.size, log.nextSequenceNumber, wokenAfterTheFault]).toEqual([2, 2, 2]);
      const faults = lines.filter(({ line }) => line.includes('injected receiver fault'));
      expect(faults.map(({ level }) => level)).toEqual(['error', 'error']);
      await store.close();

      // On disk: two records, numbered 0 and 1, as acknowledged.
      const reopened = await EventStore.open(defaultNamespace(), RETENTION, dir.path, logger);
      const recovered = reopened.hub('events')!.partitions[0].log;
      expect([recovered.get(0)?.sequenceNumber, recovered.get(1)?.sequenceNumber]).toEqual([0, 1]);
      expect(recovered.nextSequenceNumber).toBe(2);
      await reopened.close();
    } finally {
      dir.remove();
    }
  });
});
