import type { ReceivedEventData } from '@azure/event-hubs';
import {
  dotNetDateTime,
  numericOffset,
  toTriggerInput,
  TriggerBindingError,
  type TriggerShape,
} from '../../../local/host/eventHubs/triggerInput';

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
    contentType: 'application/json',
    getRawAmqpMessage: () => ({ bodyType: 'data' }) as never,
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
  const input = toTriggerInput(events, partition, shape(), true, 'messages');
  expect(input.data).toEqual({ collectionString: { string: ['{"a":1}', 'text'] } });
  expect(input.triggerMetadata.PartitionKeyArray).toEqual({ collectionString: { string: ['k'] } });
  expect(input.triggerMetadata.OffsetArray).toEqual({ collectionString: { string: ['100', '200', '300'] } });
  expect(input.triggerMetadata.OffsetStringArray).toEqual({
    collectionString: { string: ['100', '200', '300'] },
  });
  expect(input.triggerMetadata.SequenceNumberArray).toEqual({ collectionSint64: { sint64: [1, 2, 3] } });
  expect(JSON.parse(input.triggerMetadata.EnqueuedTimeUtcArray.json!)).toEqual(
    Array(3).fill('2024-05-01T12:00:00.12'),
  );
  expect(JSON.parse(input.triggerMetadata.PropertiesArray.json!)).toEqual([{}, {}, { Color: 'red' }]);
  expect(JSON.parse(input.triggerMetadata.SystemPropertiesArray.json!)[1]).toMatchObject({
    'x-opt-sequence-number': 2,
    'x-opt-offset': '200',
    'x-opt-enqueued-time': '2024-05-01T12:00:00.12+00:00',
    'content-type': 'application/json',
    SequenceNumber: 2,
    Offset: 200,
    OffsetString: '200',
    PartitionKey: null,
    EnqueuedTimeUtc: '2024-05-01T12:00:00.12',
  });
  expect(input.triggerMetadata.sys).toBeUndefined();
  expect(input.triggerMetadata.TriggerPartitionContext).toEqual(input.triggerMetadata.PartitionContext);
  expect(JSON.parse(input.triggerMetadata.PartitionContext.json!)).toEqual({
    FullyQualifiedNamespace: 'ns',
    EventHubName: 'hub',
    ConsumerGroup: 'cg',
    PartitionId: '3',
    IsCheckpointingAfterInvocation: true,
  });
  expect(input.details).toBe(
    'Trigger Details: PartionId: 3, Offset: 100-300, EnqueueTimeUtc: 2024-05-01T12:00:00.1200000+00:00-2024-05-01T12:00:00.1200000+00:00, SequenceNumber: 1-3, Count: 3',
  );
});

test('IncludeEmptyEntriesInMessagePayload keeps empty entries; binary data keeps empty bodies anyway', () => {
  const included = toTriggerInput(events, partition, shape({ includeEmptyEntries: true }), false, 'messages');
  expect(included.data).toEqual({ collectionString: { string: ['{"a":1}', '', 'text'] } });
  expect(included.triggerMetadata.PartitionKeyArray).toEqual({ collectionString: { string: ['k', '', ''] } });
  const binary = toTriggerInput(events, partition, shape({ dataType: 'binary' }), false, 'messages');
  expect(binary.data.collectionBytes!.bytes!.map((b) => Buffer.from(b).toString())).toEqual([
    '{"a":1}',
    '',
    'text',
  ]);
});

test('cardinality one: a single event with single-dispatch metadata', () => {
  const input = toTriggerInput([events[0]], partition, shape({ cardinality: 'one' }), true, 'messages');
  expect(input.data).toEqual({ string: '{"a":1}' });
  expect(input.triggerMetadata).toMatchObject({
    PartitionKey: { string: 'k' },
    SequenceNumber: { json: '1' },
    Offset: { string: '100' },
    OffsetString: { string: '100' },
  });
  const keyless = toTriggerInput([events[1]], partition, shape({ cardinality: 'one' }), true, 'messages');
  expect(keyless.triggerMetadata).not.toHaveProperty('PartitionKey');
});

describe('no dataType: object[] through Newtonsoft, one JSON array', () => {
  test('JSON bodies are re-serialised (dates rewritten), empty bodies become null', () => {
    const input = toTriggerInput(
      [
        event(1, Buffer.from('{"at":"2024-05-01T12:00:00.000Z","big":12345678901234567890}')),
        event(2, Buffer.alloc(0)),
        event(3, Buffer.from("{'unquoted': 0x10 /* Newtonsoft is lenient */}")),
      ],
      partition,
      shape({ dataType: 'default' }),
      true,
      'messages',
    );
    expect(input.data).toEqual({
      json: '[{"at":"2024-05-01T12:00:00Z","big":12345678901234567890},null,{"unquoted":16}]',
    });
  });

  test('one body that is not JSON fails the binding of the whole batch, with the host text', () => {
    const bind = () =>
      toTriggerInput(
        [event(1, Buffer.from('{"ok":1}')), event(2, Buffer.from('plain text'))],
        partition,
        shape({ dataType: 'default' }),
        true,
        'eventHubTrigger1a2b',
      );
    expect(bind).toThrow(TriggerBindingError);
    expect(bind).toThrow(
      "Microsoft.Azure.WebJobs.Host: Exception binding parameter 'eventHubTrigger1a2b'. " +
        "Microsoft.Azure.WebJobs.Host: Binding parameters to complex objects (such as 'Object') uses Json.NET serialization. \n" +
        "1. Bind the parameter type as 'string' instead of 'Object' to get the raw values and avoid JSON deserialization, or\n" +
        "2. Change the queue payload to be valid json. The JSON parser failed: Unexpected character encountered while parsing value: p. Path '', line 0, position 0.\n.",
    );
  });

  test('bytes that are not UTF-8 are decoded with replacement characters first, as Encoding.UTF8 does', () => {
    const bind = () =>
      toTriggerInput(
        [event(1, Buffer.from([0x89, 0x50, 0x4e, 0x47]))],
        partition,
        shape({ dataType: 'default' }),
        true,
        'm',
      );
    expect(bind).toThrow(
      "Unexpected character encountered while parsing value: \ufffd. Path '', line 0, position 0.",
    );
  });
});

test('an AMQP value body fails the binding for every dataType (EventData.EventBody reads data sections only)', () => {
  const valueBody = { ...event(1, 'v'), getRawAmqpMessage: () => ({ bodyType: 'value' }) as never };
  for (const dataType of ['binary', 'string', 'default'] as const) {
    expect(() => toTriggerInput([valueBody], partition, shape({ dataType }), true, 'm')).toThrow(
      TriggerBindingError,
    );
  }
});

test.each([
  ['4294967296', '4294967296'],
  ['9223372036854775807', '9223372036854775807'],
  ['9223372036854775808', '-1'],
  ['A:1:2', '-1'],
])('offset %s: OffsetArray entry %s (long.TryParse or -1)', (offset, expected) => {
  expect(numericOffset(offset)).toBe(expected);
});

test('DateTime without a zone, as Newtonsoft writes one of unspecified kind', () => {
  expect(dotNetDateTime(new Date('2024-05-01T12:00:00.000Z'))).toBe('2024-05-01T12:00:00');
  expect(dotNetDateTime(new Date('2024-05-01T12:00:00.100Z'))).toBe('2024-05-01T12:00:00.1');
});
