import type { ReceivedEventData } from '@azure/event-hubs';
import { dotNetDateTime, toTriggerInput, TriggerShape } from '../../../local/host/eventHubs/triggerInput';

const enqueued = new Date('2024-05-01T12:00:00.120Z');
function event(
  sequenceNumber: number,
  body: unknown,
  partitionKey: string | null = null,
  properties = {},
): ReceivedEventData {
  return {
    body,
    sequenceNumber,
    offset: String(sequenceNumber * 100),
    enqueuedTimeUtc: enqueued,
    partitionKey,
    properties,
    systemProperties: {},
    getRawAmqpMessage: () => ({}) as never,
  };
}
const partition = {
  fullyQualifiedNamespace: 'ns',
  eventHubName: 'hub',
  consumerGroup: 'cg',
  partitionId: '3',
};
const shape = (overrides: Partial<TriggerShape> = {}): TriggerShape => ({
  functionName: 'fn',
  cardinality: 'many',
  dataType: 'string',
  includeEmptyEntries: false,
  ...overrides,
});
const events = [
  event(1, Buffer.from('{"a":1}'), 'k'),
  event(2, Buffer.alloc(0)),
  event(3, Buffer.from('text'), null, { Color: 'red' }),
];

test('cardinality many, string data: empty bodies and null keys are dropped from string arrays, as the host does', () => {
  const input = toTriggerInput(events, partition, shape(), true);
  expect(input.data).toEqual({ collectionString: { string: ['{"a":1}', 'text'] } });
  expect(input.triggerMetadata.PartitionKeyArray).toEqual({ collectionString: { string: ['k'] } });
  expect(input.triggerMetadata.OffsetArray).toEqual({ collectionString: { string: ['100', '200', '300'] } });
  expect(input.triggerMetadata.SequenceNumberArray).toEqual({ collectionSint64: { sint64: [1, 2, 3] } });
  expect(JSON.parse(input.triggerMetadata.EnqueuedTimeUtcArray.json!)).toEqual(
    Array(3).fill('2024-05-01T12:00:00.12'),
  );
  expect(JSON.parse(input.triggerMetadata.PropertiesArray.json!)).toEqual([{}, {}, { Color: 'red' }]);
  expect(JSON.parse(input.triggerMetadata.SystemPropertiesArray.json!)[1]).toMatchObject({
    'x-opt-sequence-number': 2,
    'x-opt-offset': '200',
    SequenceNumber: 2,
    Offset: 200,
    PartitionKey: null,
    EnqueuedTimeUtc: '2024-05-01T12:00:00.12',
  });
  expect(JSON.parse(input.triggerMetadata.PartitionContext.json!)).toEqual({
    FullyQualifiedNamespace: 'ns',
    EventHubName: 'hub',
    ConsumerGroup: 'cg',
    PartitionId: '3',
    IsCheckpointingAfterInvocation: true,
  });
  expect(input.details).toBe(
    'Trigger Details: PartitionId: 3, Offset: 100-300, EnqueueTimeUtc: 2024-05-01T12:00:00.1200000+00:00-2024-05-01T12:00:00.1200000+00:00, SequenceNumber: 1-3, Count: 3',
  );
});

test('IncludeEmptyEntriesInMessagePayload keeps empty entries; binary data keeps empty bodies anyway', () => {
  const included = toTriggerInput(events, partition, shape({ includeEmptyEntries: true }), false);
  expect(included.data).toEqual({ collectionString: { string: ['{"a":1}', '', 'text'] } });
  expect(included.triggerMetadata.PartitionKeyArray).toEqual({ collectionString: { string: ['k', '', ''] } });
  const binary = toTriggerInput(events, partition, shape({ dataType: 'binary' }), false);
  expect(binary.data.collectionBytes!.bytes!.map((b) => Buffer.from(b).toString())).toEqual([
    '{"a":1}',
    '',
    'text',
  ]);
});

test('cardinality one: a single event with single-dispatch metadata', () => {
  const input = toTriggerInput([events[0]], partition, shape({ cardinality: 'one' }), true);
  expect(input.data).toEqual({ string: '{"a":1}' });
  expect(input.triggerMetadata).toMatchObject({
    PartitionKey: { string: 'k' },
    SequenceNumber: { json: '1' },
    Offset: { json: '100' },
  });
});

test('DateTime without a zone, as Newtonsoft writes one of unspecified kind', () => {
  expect(dotNetDateTime(new Date('2024-05-01T12:00:00.000Z'))).toBe('2024-05-01T12:00:00');
  expect(dotNetDateTime(new Date('2024-05-01T12:00:00.100Z'))).toBe('2024-05-01T12:00:00.1');
});
