// What the Functions host sees when it loads the app: the library hands every app.* call to the
// worker's '@azure/functions-core' module, provided here the way the worker provides it.
interface Registered {
  metadata: {
    name: string;
    bindings: Record<string, Record<string, unknown>>;
    retryOptions?: Record<string, unknown>;
  };
}

const mockRegistered: Registered[] = [];
const mockHooks: string[] = [];

jest.mock(
  '@azure/functions-core',
  () => ({
    setProgrammingModel: () => undefined,
    registerFunction: (metadata: Registered['metadata']) => {
      mockRegistered.push({ metadata });
      return { dispose: () => undefined };
    },
    registerHook: (name: string) => {
      mockHooks.push(name);
      return { dispose: () => undefined };
    },
  }),
  { virtual: true },
);

beforeAll(async () => {
  await import('../../src/functions/publishEvents');
  await import('../../src/functions/processEvents');
  await import('../../src/functions/consumerLag');
});

function triggerOf(name: string): Record<string, unknown> {
  const registered = mockRegistered.find((entry) => entry.metadata.name === name);
  if (registered === undefined) throw new Error(`${name} was not registered`);
  const trigger = Object.values(registered.metadata.bindings).find((binding) => binding.direction === 'in');
  if (trigger === undefined) throw new Error(`${name} has no trigger binding`);
  return trigger;
}

test('publishEvents: POST /api/events (other methods routed here get 405; not TRACE/CONNECT, which the library cannot represent), function key required', () => {
  expect(triggerOf('publishEvents')).toMatchObject({
    type: 'httpTrigger',
    route: 'events',
    authLevel: 'function',
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  });
});

test('processEvents: Event Hub trigger, cardinality many, bodies as bytes, settings-driven hub and consumer group', () => {
  expect(triggerOf('processEvents')).toMatchObject({
    type: 'eventHubTrigger',
    connection: 'EventHubConnection',
    eventHubName: '%EVENTHUB_NAME%',
    consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
    cardinality: 'many',
  });
  // Without it the host binds object[] and one body that is not JSON fails the whole batch in Azure.
  expect(triggerOf('processEvents').dataType).toBe('binary');
});

test('processEvents has a bounded exponential backoff retry policy', () => {
  const registered = mockRegistered.find((entry) => entry.metadata.name === 'processEvents');
  expect(registered?.metadata.retryOptions).toMatchObject({
    retryStrategy: 'exponentialBackoff',
    maxRetryCount: 8,
    minimumInterval: { seconds: 10 },
    maximumInterval: { seconds: 300 },
  });
});

test('consumerLag: timer trigger, every minute unless CONSUMER_LAG_SCHEDULE says otherwise, not on startup', () => {
  expect(triggerOf('consumerLag')).toMatchObject({ type: 'timerTrigger', schedule: '0 */1 * * * *' });
  expect(triggerOf('consumerLag').runOnStartup).toBeUndefined();
});

test('the shared producer and the lag reader are closed by appTerminate hooks', () => {
  expect(mockHooks).toEqual(['appTerminate', 'appTerminate']);
});
