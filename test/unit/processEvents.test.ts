import type { InvocationContext } from '@azure/functions';
import {
  createProcessEventsHandler,
  type ProcessEventsDependencies,
} from '../../src/functions/processEvents';
import type { DeadLetter, DeadLetterStore } from '../../src/lib/consume/deadLetter';
import { deadLetterBlobName } from '../../src/lib/consume/deadLetter';
import { handleEvent, type EventHandler } from '../../src/lib/consume/eventHandler';
import { RetryBatchError } from '../../src/lib/consume/retryBatchError';
import type { ConsumerSettings } from '../../src/lib/settings';
import type { ConsumedEvent } from '../../src/lib/consume/triggerEvents';
import { capturingContext } from './support/invocation';

const NOW = Date.parse('2024-05-06T07:08:10.000Z');
const SETTINGS: ConsumerSettings = {
  eventHubName: 'events',
  consumerGroup: 'processor',
  deadLetterContainer: 'dead-letter-events',
  logBodyMaxChars: 20,
};

class InMemoryDeadLetters implements DeadLetterStore {
  readonly saved: DeadLetter[] = [];
  failure: unknown;
  async save(letter: DeadLetter): Promise<string> {
    if (this.failure !== undefined) throw this.failure;
    this.saved.push(letter);
    return `dead-letter-events/${deadLetterBlobName(letter)}`;
  }
}

function hostMetadata(count: number, overrides: Record<string, unknown> = {}) {
  return {
    partitionContext: {
      fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      eventHubName: 'events',
      consumerGroup: 'processor',
      partitionId: '1',
      isCheckpointingAfterInvocation: true,
    },
    sequenceNumberArray: Array.from({ length: count }, (_, i) => 100 + i),
    offsetArray: Array.from({ length: count }, (_, i) => 5000 + i),
    partitionKeyArray: Array.from({ length: count }, () => 'device-1'),
    enqueuedTimeUtcArray: Array.from({ length: count }, (_, i) => `2024-05-06T07:08:0${i}`),
    propertiesArray: Array.from({ length: count }, () => ({})),
    systemPropertiesArray: Array.from({ length: count }, () => ({})),
    ...overrides,
  };
}

function setup(
  handler: EventHandler = handleEvent,
  triggerMetadata: Record<string, unknown> = hostMetadata(0),
  retryCount?: number,
  options: { maxRetryCount?: number; readSettings?: () => ConsumerSettings } = {},
) {
  const deadLetters = new InMemoryDeadLetters();
  const dependencies: ProcessEventsDependencies = {
    readSettings: options.readSettings ?? (() => SETTINGS),
    deadLetterStore: () => deadLetters,
    handleEvent: handler,
    now: () => NOW,
  };
  const { context, logs } = capturingContext({
    triggerMetadata,
    retryCount,
    maxRetryCount: options.maxRetryCount,
  });
  const run = (messages: unknown) => createProcessEventsHandler(dependencies)(messages, context);
  return { deadLetters, logs, run };
}

function parseLine(message: string): [string, Record<string, unknown>] {
  const space = message.indexOf(' ');
  return [message.slice(0, space), JSON.parse(message.slice(space + 1)) as Record<string, unknown>];
}

describe('processEvents', () => {
  test('logs one EventProcessed line per event and one BatchProcessed line, in the contract format', async () => {
    const types = ['application/json', 'text/plain', 'text/plain'];
    const { logs, run } = setup(
      handleEvent,
      hostMetadata(3, {
        propertiesArray: [{ source: 'a' }, {}, {}],
        systemPropertiesArray: types.map((type) => ({ 'content-type': type })),
      }),
    );
    await run([Buffer.from('{"id": 1}'), Buffer.from('text'), Buffer.from('x'.repeat(50))]);
    expect(logs.map((log) => log.level)).toEqual([
      'information',
      'information',
      'information',
      'information',
    ]);
    expect(logs[0].message).toBe(
      'EventProcessed {"partitionId":"1","sequenceNumber":100,"offset":"5000","enqueuedTimeUtc":"2024-05-06T07:08:00.000Z",' +
        '"partitionKey":"device-1","properties":{"source":"a"},"traceId":null,"contentType":"application/json",' +
        '"body":"{\\"id\\": 1}","bodyEncoding":"utf8","bodyTruncated":false,"lagMs":10000}',
    );
    expect(parseLine(logs[2].message)[1]).toMatchObject({
      body: 'x'.repeat(20),
      bodyTruncated: true,
      lagMs: 8000,
    });
    expect(logs[3].message).toBe(
      'BatchProcessed {"partitionId":"1","count":3,"failed":0,"firstSequenceNumber":100,"lastSequenceNumber":102,"maxLagMs":10000}',
    );
  });

  test('the KQL in the contract extracts the JSON with substring(message, 15)', async () => {
    const { logs, run } = setup(handleEvent, hostMetadata(1));
    await run(['a']);
    expect(JSON.parse(logs[0].message.substring(15))).toMatchObject({ sequenceNumber: 100 });
  });

  test('a failing event is dead-lettered and logged as EventFailed; the batch goes on', async () => {
    const seen: number[] = [];
    const handler: EventHandler = async (event) => {
      seen.push(event.sequenceNumber ?? -1);
      if (event.sequenceNumber === 101) throw new Error('cannot handle this one');
    };
    const { deadLetters, logs, run } = setup(handler, hostMetadata(3));
    await run([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(seen).toEqual([100, 101, 102]);
    expect(logs.map((log) => parseLine(log.message)[0])).toEqual([
      'EventProcessed',
      'EventFailed',
      'EventProcessed',
      'BatchProcessed',
    ]);
    expect(logs[1].level).toBe('error');
    expect(parseLine(logs[1].message)[1]).toEqual({
      partitionId: '1',
      sequenceNumber: 101,
      offset: '5001',
      enqueuedTimeUtc: '2024-05-06T07:08:01.000Z',
      partitionKey: 'device-1',
      properties: {},
      traceId: null,
      contentType: null,
      body: '{"n":1}',
      bodyEncoding: 'utf8',
      bodyTruncated: false,
      lagMs: 9000,
      error: 'cannot handle this one',
      deadLetterBlob: 'dead-letter-events/events/processor/1/101.json',
    });
    expect(parseLine(logs[3].message)[1]).toMatchObject({ count: 3, failed: 1 });
    expect(deadLetters.saved).toHaveLength(1);
    expect(deadLetters.saved[0]).toMatchObject({
      eventHubName: 'events',
      consumerGroup: 'processor',
      error: 'cannot handle this one',
      invocationId: 'test-invocation',
      failedAtUtc: '2024-05-06T07:08:10.000Z',
      event: { rawBody: Buffer.from('{"n":1}'), sequenceNumber: 101 },
    });
  });

  test('the sample handler rejects events whose poison property is true', async () => {
    const metadata = hostMetadata(3, {
      propertiesArray: [{ poison: true }, { poison: 'true' }, { poison: false }],
    });
    const { deadLetters, logs, run } = setup(handleEvent, metadata);
    await run(['a', 'b', 'c']);
    expect(deadLetters.saved.map((letter) => letter.event.sequenceNumber)).toEqual([100, 101]);
    expect(parseLine(logs[0].message)[1].error).toBe(
      'Sample handler: event is marked as poison (application property poison=true)',
    );
    expect(parseLine(logs[3].message)[1]).toMatchObject({ count: 3, failed: 2 });
  });

  test('when dead-lettering fails the invocation throws, so the retry policy runs the batch again', async () => {
    const handler: EventHandler = async () => {
      throw new Error('bad event');
    };
    const { deadLetters, logs, run } = setup(handler, hostMetadata(2), 3);
    deadLetters.failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:10000'), {
      code: 'ECONNREFUSED',
    });
    await expect(run(['a', 'b'])).rejects.toThrow(
      'Dead-lettering event 1/100 failed: Error (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:10000',
    );
    expect(logs.map((log) => [log.level, parseLine(log.message)[0]])).toEqual([
      ['error', 'DeadLetterFailed'],
      ['error', 'BatchFailed'],
    ]);
    expect(parseLine(logs[0].message)).toEqual([
      'DeadLetterFailed',
      {
        partitionId: '1',
        sequenceNumber: 100,
        offset: '5000',
        error: 'Error (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:10000',
        retryCount: 3,
        maxRetryCount: 8,
      },
    ]);
  });

  test('a RetryBatchError from the handler fails the whole invocation without dead-lettering', async () => {
    const handler: EventHandler = async (event: ConsumedEvent, context: InvocationContext) => {
      if (event.sequenceNumber === 101) throw new RetryBatchError('database unavailable');
      context.trace('handled');
    };
    const { deadLetters, logs, run } = setup(handler, hostMetadata(3), 2);
    await expect(run(['a', 'b', 'c'])).rejects.toThrow(RetryBatchError);
    expect(deadLetters.saved).toHaveLength(0);
    expect(logs.map((log) => [log.level, log.message.split(' ')[0]])).toEqual([
      ['trace', 'handled'],
      ['information', 'EventProcessed'],
      ['error', 'BatchFailed'],
    ]);
    expect(parseLine(logs[2].message)[1]).toEqual({
      partitionId: '1',
      count: 3,
      firstSequenceNumber: 100,
      lastSequenceNumber: 102,
      retryCount: 2,
      maxRetryCount: 8,
      error: 'RetryBatchError: database unavailable',
    });
  });

  describe('on the last attempt (the host then checkpoints past the batch)', () => {
    const dropped = (sequenceNumber: number, body: string, error: string) => ({
      partitionId: '1',
      sequenceNumber,
      offset: String(4900 + sequenceNumber),
      enqueuedTimeUtc: `2024-05-06T07:08:0${sequenceNumber - 100}.000Z`,
      partitionKey: 'device-1',
      properties: {},
      traceId: null,
      contentType: null,
      body,
      bodyEncoding: 'utf8',
      bodyTruncated: false,
      lagMs: 10000 - (sequenceNumber - 100) * 1000,
      error: `Given up without a dead letter: the batch failed on its last attempt (${error})`,
      deadLetterBlob: null,
    });

    test('a RetryBatchError logs BatchFailed and an EventFailed line for every event not yet done', async () => {
      const handler: EventHandler = async (event) => {
        if (event.sequenceNumber === 101) throw new RetryBatchError('database unavailable');
      };
      const { deadLetters, logs, run } = setup(handler, hostMetadata(3), 8, { maxRetryCount: 8 });
      await expect(run(['a', 'b', 'c'])).rejects.toThrow('database unavailable');
      expect(deadLetters.saved).toHaveLength(0);
      expect(logs.map((log) => [log.level, parseLine(log.message)[0]])).toEqual([
        ['information', 'EventProcessed'],
        ['error', 'BatchFailed'],
        ['error', 'EventFailed'],
        ['error', 'EventFailed'],
      ]);
      expect(parseLine(logs[1].message)[1]).toMatchObject({ retryCount: 8, maxRetryCount: 8, count: 3 });
      const error = 'RetryBatchError: database unavailable';
      expect(parseLine(logs[2].message)[1]).toEqual(dropped(101, 'b', error));
      expect(parseLine(logs[3].message)[1]).toEqual(dropped(102, 'c', error));
    });

    test('dead letters that cannot be written: the dead-lettered and processed events are not repeated', async () => {
      const handler: EventHandler = async (event) => {
        if (event.sequenceNumber !== 100) throw new Error('bad event');
      };
      const { deadLetters, logs, run } = setup(handler, hostMetadata(4), 8, { maxRetryCount: 8 });
      const save = deadLetters.save.bind(deadLetters);
      deadLetters.save = async (letter) => {
        if (letter.event.sequenceNumber === 102) throw new Error('storage down');
        return save(letter);
      };
      await expect(run(['a', 'b', 'c', 'd'])).rejects.toThrow('Dead-lettering event 1/102 failed');
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual([
        'EventProcessed',
        'EventFailed',
        'DeadLetterFailed',
        'BatchFailed',
        'EventFailed',
        'EventFailed',
      ]);
      expect(parseLine(logs[1].message)[1].deadLetterBlob).toBe(
        'dead-letter-events/events/processor/1/101.json',
      );
      const error = 'Error: Dead-lettering event 1/102 failed: Error: storage down';
      expect(parseLine(logs[3].message)[1].error).toBe(error);
      expect(parseLine(logs[4].message)[1]).toEqual(dropped(102, 'c', error));
      expect(parseLine(logs[5].message)[1]).toEqual(dropped(103, 'd', error));
    });

    test('a settings error gives up every event of the batch', async () => {
      const readSettings = (): ConsumerSettings => {
        throw new Error('EVENTHUB_NAME is not set');
      };
      const { logs, run } = setup(handleEvent, hostMetadata(2), 8, { maxRetryCount: 8, readSettings });
      await expect(run(['a', 'b'])).rejects.toThrow('EVENTHUB_NAME is not set');
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual([
        'BatchFailed',
        'EventFailed',
        'EventFailed',
      ]);
      expect(parseLine(logs[1].message)[1]).toEqual(dropped(100, 'a', 'Error: EVENTHUB_NAME is not set'));
    });

    test('without a retry context (no retry policy) every failure is the last attempt', async () => {
      const handler: EventHandler = async () => {
        throw new RetryBatchError('down');
      };
      const { logs, run } = setup(handler, hostMetadata(1));
      await expect(run(['a'])).rejects.toThrow('down');
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual(['BatchFailed', 'EventFailed']);
      expect(parseLine(logs[0].message)[1]).toMatchObject({ retryCount: null, maxRetryCount: null });
    });

    test('retrying forever (maxRetryCount -1) never gives events up', async () => {
      const handler: EventHandler = async () => {
        throw new RetryBatchError('down');
      };
      const { logs, run } = setup(handler, hostMetadata(1), 50, { maxRetryCount: -1 });
      await expect(run(['a'])).rejects.toThrow('down');
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual(['BatchFailed']);
    });
  });

  test('a batch the host shortened (empty events dropped) is processed with unknown coordinates and a warning', async () => {
    const handler: EventHandler = async (event) => {
      if (event.body === 'bad') throw new Error('bad');
    };
    const { deadLetters, logs, run } = setup(handler, hostMetadata(3));
    await run(['ok', 'bad']);
    expect(parseLine(logs[0].message)).toEqual([
      'BatchMisaligned',
      { partitionId: '1', delivered: 2, inMetadata: 3, firstSequenceNumber: 100, lastSequenceNumber: 102 },
    ]);
    expect(logs[0].level).toBe('warning');
    expect(parseLine(logs[1].message)[1]).toMatchObject({ sequenceNumber: null, lagMs: null, body: 'ok' });
    expect(parseLine(logs[2].message)[1]).toMatchObject({
      sequenceNumber: null,
      deadLetterBlob: 'dead-letter-events/events/processor/1/batch-100-102-1.json',
    });
    expect(parseLine(logs[3].message)[1]).toEqual({
      partitionId: '1',
      count: 2,
      failed: 1,
      firstSequenceNumber: 100,
      lastSequenceNumber: 102,
      maxLagMs: null,
    });
    expect(deadLetters.saved).toHaveLength(1);
  });

  test('bodies that are not UTF-8 are logged in base64, exactly', async () => {
    const { logs, run } = setup(handleEvent, hostMetadata(1));
    await run([Buffer.from([0xff, 0x68, 0x00])]);
    expect(parseLine(logs[0].message)[1]).toMatchObject({
      body: '/2gA',
      bodyEncoding: 'base64',
      bodyTruncated: false,
    });
  });

  describe('whatever goes wrong with one event is its own failure, never the batch (issue 11)', () => {
    const depth = 100_000;
    const deepBody = Buffer.from('['.repeat(depth) + ']'.repeat(depth));
    const json = { 'content-type': 'application/json' };

    test('a 100k-deep JSON body is processed and logged; the events around it too', async () => {
      const { logs, run } = setup(
        handleEvent,
        hostMetadata(3, { systemPropertiesArray: [json, json, json] }),
      );
      await run([Buffer.from('{"before":1}'), deepBody, Buffer.from('{"after":1}')]);
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual([
        'EventProcessed',
        'EventProcessed',
        'EventProcessed',
        'BatchProcessed',
      ]);
      expect(parseLine(logs[1].message)[1]).toMatchObject({ body: '['.repeat(20), bodyTruncated: true });
    });

    test('a handler that overflows the stack on it fails that event only: dead-lettered exactly', async () => {
      const handler: EventHandler = (event) => {
        JSON.stringify(event.body);
      };
      const { deadLetters, logs, run } = setup(
        handler,
        hostMetadata(3, { systemPropertiesArray: [json, json, json] }),
      );
      await run([Buffer.from('{"before":1}'), deepBody, Buffer.from('{"after":1}')]);
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual([
        'EventProcessed',
        'EventFailed',
        'EventProcessed',
        'BatchProcessed',
      ]);
      expect(parseLine(logs[1].message)[1]).toMatchObject({
        sequenceNumber: 101,
        error: 'Maximum call stack size exceeded',
        deadLetterBlob: 'dead-letter-events/events/processor/1/101.json',
      });
      expect(deadLetters.saved.map((letter) => letter.event.rawBody)).toEqual([deepBody]);
    });

    test('a body that contradicts its content type is dead-lettered; the batch goes on', async () => {
      const metadata = hostMetadata(2, {
        systemPropertiesArray: [json, { 'content-type': 'text/plain' }],
      });
      const seen: unknown[] = [];
      const { deadLetters, logs, run } = setup((event) => void seen.push(event.body), metadata);
      await run([Buffer.from('{"truncated":'), Buffer.from([0x68, 0xff])]);
      expect(seen).toEqual([]);
      expect(logs.map((log) => parseLine(log.message)[0])).toEqual([
        'EventFailed',
        'EventFailed',
        'BatchProcessed',
      ]);
      expect(parseLine(logs[0].message)[1].error).toMatch(
        /^The body is declared application\/json but is not valid JSON/,
      );
      expect(parseLine(logs[1].message)[1]).toMatchObject({
        error: 'The body is declared text/plain but is not valid UTF-8',
        body: 'aP8=',
        bodyEncoding: 'base64',
      });
      expect(deadLetters.saved.map((letter) => letter.event.sequenceNumber)).toEqual([100, 101]);
    });

    test('a handler that throws something without a printable message fails that event only', async () => {
      const handler: EventHandler = () => {
        throw Object.create(null);
      };
      const { logs, run } = setup(handler, hostMetadata(1));
      await run([Buffer.from('x')]);
      expect(parseLine(logs[0].message)).toEqual([
        'EventFailed',
        expect.objectContaining({ error: 'The handler threw a value that cannot be turned into text' }),
      ]);
    });

    test('properties too deep to serialise do not stop the event from being logged', async () => {
      const deep = JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;
      const { logs, run } = setup(handleEvent, hostMetadata(1, { propertiesArray: [{ deep }] }));
      await run([Buffer.from('x')]);
      expect(parseLine(logs[0].message)[1]).toMatchObject({
        body: 'x',
        properties: '[not serialisable: RangeError]',
      });
    });
  });

  test('falls back to the settings for hub and consumer group when the metadata lacks them', async () => {
    const handler: EventHandler = async () => {
      throw new Error('x');
    };
    const { deadLetters, run } = setup(handler, { sequenceNumberArray: [5] });
    await run(['a']);
    expect(deadLetterBlobName(deadLetters.saved[0])).toBe('events/processor/unknown-partition/5.json');
  });
});
