// Lag per partition from the partition's properties and the host's checkpoint, and the consumerLag
// function's lines (against the real hub and checkpoints: test/e2e/operations.test.ts).
import type { PartitionProperties } from '@azure/event-hubs';
import { createConsumerLagHandler } from '../../src/functions/consumerLag';
import { measureConsumerLag, partitionLag, type LagSources } from '../../src/lib/consume/consumerLag';
import { capturingContext } from './support/invocation';

function partition(id: string, beginning: number, last: number): PartitionProperties {
  return {
    eventHubName: 'events',
    partitionId: id,
    beginningSequenceNumber: beginning,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedOffset: String(last * 100),
    lastEnqueuedOnUtc: new Date('2026-01-01T00:01:00Z'),
    isEmpty: last < beginning,
  };
}

test.each([
  ['checkpoint behind the last event', partition('0', 0, 9), { sequenceNumber: 6, offset: '600' }, 3, 7],
  ['checkpoint at the last event', partition('0', 0, 9), { sequenceNumber: 9, offset: '900' }, 0, null],
  ['no checkpoint: every retained event (fromStart)', partition('0', 5, 9), undefined, 5, 5],
  [
    'checkpoint older than retention: only retained events',
    partition('0', 50, 59),
    { sequenceNumber: 3, offset: '300' },
    10,
    50,
  ],
  ['rewound to earliest (-1)', partition('0', 0, 3), { sequenceNumber: -1, offset: '-1' }, 4, 0],
  ['empty partition', partition('0', 0, -1), undefined, 0, null],
])('%s', (_name, properties, checkpoint, lagEvents, nextSequenceNumber) => {
  expect(partitionLag(properties, checkpoint)).toMatchObject({ lagEvents, nextSequenceNumber });
});

const sources = (enqueued: Date | null | Error): LagSources => ({
  partitions: async () => [partition('0', 0, 9), partition('1', 0, 4)],
  checkpoints: async () => new Map([['1', { sequenceNumber: 4, offset: '400' }]]),
  enqueuedTime: async () => {
    if (enqueued instanceof Error) throw enqueued;
    return enqueued;
  },
});

test('lagSeconds is the age of the oldest unprocessed event; null when it cannot be read', async () => {
  const now = () => Date.parse('2026-01-01T00:02:00Z');
  const lags = await measureConsumerLag(sources(new Date('2026-01-01T00:00:30Z')), now);
  expect(lags.map((lag) => [lag.partitionId, lag.lagEvents, lag.lagSeconds])).toEqual([
    ['0', 10, 90],
    ['1', 0, 0],
  ]);
  const unknown = await measureConsumerLag(sources(new Error('ReceiverDisconnectedError')), now);
  expect(unknown[0].lagSeconds).toBeNull();
});

test('the function logs one ConsumerLag line per partition, and ConsumerLagFailed when it cannot measure', async () => {
  const settings = {
    eventHubName: 'events',
    consumerGroup: 'processor',
    deadLetterContainer: 'd',
    logBodyMaxChars: 1,
  };
  const { context, logs } = capturingContext();
  const handler = createConsumerLagHandler({
    readSettings: () => settings,
    sources: () => sources(new Date('2026-01-01T00:00:30Z')),
    now: () => Date.parse('2026-01-01T00:02:00Z'),
  });
  await handler({} as never, context);
  expect(logs).toEqual([
    {
      level: 'information',
      message:
        'ConsumerLag {"partitionId":"0","lagEvents":10,"lagSeconds":90,"checkpointSequenceNumber":null,"lastEnqueuedSequenceNumber":9}',
    },
    {
      level: 'information',
      message:
        'ConsumerLag {"partitionId":"1","lagEvents":0,"lagSeconds":0,"checkpointSequenceNumber":4,"lastEnqueuedSequenceNumber":4}',
    },
  ]);

  const failing = capturingContext();
  const broken = createConsumerLagHandler({
    readSettings: () => settings,
    sources: () => ({ ...sources(null), partitions: async () => Promise.reject(new Error('unreachable')) }),
    now: Date.now,
  });
  await expect(broken({} as never, failing.context)).rejects.toThrow('unreachable');
  expect(failing.logs).toEqual([
    { level: 'error', message: 'ConsumerLagFailed {"error":"Error: unreachable"}' },
  ]);
});
