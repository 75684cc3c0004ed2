// The contract between the local host and @azure/functions: the `@azure/functions-core` module the
// host supplies (local/host/coreModule.ts) and the programming / invocation model the library hands
// back. The module ships inside the Azure Functions Node.js worker and is not versioned on npm, so if
// an @azure/functions upgrade changes any of this, these tests fail and name what changed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppRegistry as AppRegistryType } from '../../../local/host/coreModule';

const mockRegistry: AppRegistryType = new (jest.requireActual(
  '../../../local/host/coreModule',
).AppRegistry)();
const mockCalls: string[] = [];

jest.mock(
  '@azure/functions-core',
  () => {
    const { createCoreApi } = jest.requireActual('../../../local/host/coreModule');
    const api = createCoreApi(mockRegistry);
    const traced: Record<string, unknown> = { ...api };
    for (const name of ['setProgrammingModel', 'registerFunction', 'registerHook'] as const) {
      traced[name] = (...args: unknown[]) => {
        mockCalls.push(name === 'registerHook' ? `registerHook:${String(args[0])}` : name);
        return (api[name] as (...a: unknown[]) => unknown)(...args);
      };
    }
    return traced;
  },
  { virtual: true },
);

import { app, HttpRequest, InvocationContext } from '@azure/functions';
import { Invoker } from '../../../local/host/invoke';
import { HostLogger } from '../../../local/host/logger';
import { DEFAULT_WORKER_CAPABILITIES } from '../../../local/host/loadApp';
import { toRpcHttpRequest } from '../../../local/host/http/rpcHttp';
import type { IncomingMessage } from 'node:http';

const PINNED_VERSION = '4.16.5';
const libraryRoot = path.dirname(require.resolve('@azure/functions/package.json'));
const logLines: string[] = [];
const invoker = new Invoker(mockRegistry, new HostLogger({ write: (text: string) => logLines.push(text) }));

let seenByHandler: { request?: HttpRequest; events?: unknown[]; context?: InvocationContext } = {};

beforeAll(() => {
  app.hook.appStart(() => undefined);
  app.hook.appTerminate(() => undefined);
  app.hook.preInvocation(() => undefined);
  app.hook.postInvocation(() => undefined);
  app.hook.log(() => undefined);
  app.http('contractHttp', {
    methods: ['POST'],
    route: 'contract/{id}',
    authLevel: 'function',
    handler: async (request, context) => {
      seenByHandler = { request, context };
      context.log('user line', 42);
      return {
        status: 201,
        headers: { 'x-contract': 'yes' },
        cookies: [{ name: 'c', value: 'v', httpOnly: true }],
        body: `got ${await request.text()}`,
      };
    },
  });
  app.eventHub('contractEvents', {
    connection: 'EventHubConnection',
    eventHubName: '%HUB%',
    consumerGroup: '$Default',
    cardinality: 'many',
    retry: { strategy: 'fixedDelay', delayInterval: { seconds: 2 }, maxRetryCount: 3 },
    handler: async (events, context) => {
      seenByHandler = { events: events as unknown[], context };
    },
  });
  mockRegistry.startupFinished = true;
});

test(`@azure/functions is the version this contract was checked against (${PINNED_VERSION})`, () => {
  const { version } = JSON.parse(readFileSync(path.join(libraryRoot, 'package.json'), 'utf8'));
  // An upgrade must come with a re-read of the library's use of @azure/functions-core and this file.
  expect(version).toBe(PINNED_VERSION);
});

test('the library obtains its runtime by requiring exactly "@azure/functions-core"', () => {
  const bundle = readFileSync(path.join(libraryRoot, 'dist', 'azure-functions.js'), 'utf8');
  expect(bundle).toContain('require("@azure/functions-core")');
});

test('registration calls: one programming model, one registerFunction per function, hooks by name', () => {
  expect(mockCalls).toEqual([
    'registerHook:appStart',
    'registerHook:appTerminate',
    'registerHook:preInvocation',
    'registerHook:postInvocation',
    'registerHook:log',
    'setProgrammingModel',
    'registerFunction',
    'registerFunction',
  ]);
  expect(
    Object.fromEntries(Object.entries(mockRegistry.hooks).map(([name, list]) => [name, list.length])),
  ).toEqual({
    appStart: 1,
    appTerminate: 1,
    preInvocation: 1,
    postInvocation: 1,
    log: 1,
  });
});

test('the programming model: name, version, getInvocationModel and getCapabilities', async () => {
  const model = mockRegistry.programmingModel!;
  expect(model.name).toBe('@azure/functions');
  expect(model.version).toBe(PINNED_VERSION);
  expect(typeof model.getInvocationModel).toBe('function');
  const capabilities = await model.getCapabilities!({ ...DEFAULT_WORKER_CAPABILITIES });
  // Without app.setup({ enableHttpStream }) the library adds nothing, in particular no HttpUri.
  expect(capabilities).toEqual(DEFAULT_WORKER_CAPABILITIES);
});

test('function metadata: generated binding names, trigger options, http output, retry options', () => {
  const http = mockRegistry.functions.get('contractHttp')!.metadata;
  expect(Object.keys(http)).toEqual(['name', 'bindings', 'retryOptions']);
  expect(http.name).toBe('contractHttp');
  expect(http.retryOptions).toBeUndefined();
  expect(Object.keys(http.bindings)).toEqual([expect.stringMatching(/^httpTrigger[0-9a-f]+$/), '$return']);
  expect(http.bindings.$return).toEqual({
    type: 'http',
    direction: 'out',
    name: expect.stringMatching(/^httpOutput/),
  });
  const [httpName, httpTrigger] = Object.entries(
    mockRegistry.functions.get('contractHttp')!.metadata.bindings,
  )[0];
  expect(httpName).toMatch(/^httpTrigger[0-9a-f]+$/);
  expect(httpTrigger).toEqual({
    name: httpName,
    type: 'httpTrigger',
    direction: 'in',
    authLevel: 'function',
    methods: ['POST'],
    route: 'contract/{id}',
    properties: { supportsDeferredBinding: 'false' },
  });

  const events = mockRegistry.functions.get('contractEvents')!.metadata;
  const [eventsName, eventsTrigger] = Object.entries(events.bindings)[0];
  expect(eventsName).toMatch(/^eventHubTrigger[0-9a-f]+$/);
  expect(eventsTrigger).toEqual({
    name: eventsName,
    type: 'eventHubTrigger',
    direction: 'in',
    connection: 'EventHubConnection',
    eventHubName: '%HUB%',
    consumerGroup: '$Default',
    cardinality: 'many',
    properties: { supportsDeferredBinding: 'false' },
  });
  expect(events.retryOptions).toEqual({
    strategy: 'fixedDelay',
    retryStrategy: 'fixedDelay',
    maxRetryCount: 3,
    delayInterval: { seconds: 2 },
    minimumInterval: undefined,
    maximumInterval: undefined,
  });
});

test('the invocation model turns an RPC http request into HttpRequest and the result into RPC http', async () => {
  const fn = mockRegistry.functions.get('contractHttp')!;
  const triggerName = Object.keys(fn.metadata.bindings)[0];
  const request = {
    method: 'POST',
    url: '/api/contract/7?q=1&q=2',
    headers: { host: '127.0.0.1:7071' },
    rawHeaders: ['Host', '127.0.0.1:7071', 'Content-Type', 'text/plain', 'X-Empty', ''],
  } as unknown as IncomingMessage;
  const result = await invoker.invoke(fn, {
    inputData: [
      {
        name: triggerName,
        data: toRpcHttpRequest(
          request,
          new URL(`http://127.0.0.1:7071${request.url}`),
          Buffer.from('hello'),
          { id: '7' },
          DEFAULT_WORKER_CAPABILITIES,
        ),
      },
    ],
    reason: 'contract',
  });

  expect(result.succeeded).toBe(true);
  expect(seenByHandler.request).toBeInstanceOf(HttpRequest);
  expect(seenByHandler.request!.url).toBe('http://127.0.0.1:7071/api/contract/7?q=1&q=2');
  expect(seenByHandler.request!.params).toEqual({ id: '7' });
  expect(seenByHandler.request!.query.get('q')).toBe('1,2');
  expect(seenByHandler.request!.headers.get('content-type')).toBe('text/plain');
  expect(seenByHandler.request!.headers.get('x-empty')).toBe('');
  expect(seenByHandler.context).toBeInstanceOf(InvocationContext);
  expect(seenByHandler.context!.triggerMetadata).toBeUndefined();

  expect(result.response!.returnValue).toEqual({
    http: {
      statusCode: '201',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'x-contract': 'yes' },
      cookies: [
        {
          name: 'c',
          value: 'v',
          domain: undefined,
          path: undefined,
          expires: undefined,
          secure: undefined,
          httpOnly: { value: true },
          sameSite: 'none',
          maxAge: undefined,
        },
      ],
      enableContentNegotiation: false,
      body: { bytes: new Uint8Array(Buffer.from('got hello')) },
    },
  });
  expect(logLines.some((line) => line.endsWith('] user line 42\n'))).toBe(true);
});

test('Event Hubs input: collection_string items are JSON-parsed, metadata keys camel-cased, retryContext passed', async () => {
  const fn = mockRegistry.functions.get('contractEvents')!;
  const triggerName = Object.keys(fn.metadata.bindings)[0];
  const result = await invoker.invoke(fn, {
    inputData: [{ name: triggerName, data: { collectionString: { string: ['{"id":1}', '42', 'plain'] } } }],
    triggerMetadata: {
      PartitionContext: { json: JSON.stringify({ PartitionId: '3', EventHubName: 'hub' }) },
      SequenceNumberArray: { collectionSint64: { sint64: [5, 6, 7] } },
      OffsetArray: { collectionString: { string: ['100', '200', 'x'] } },
      PropertiesArray: { json: JSON.stringify([{ Color: 'red' }, {}, {}]) },
    },
    retryContext: { retryCount: 1, maxRetryCount: 3, exception: { message: 'previous attempt' } },
    reason: '(null)',
  });

  expect(result.succeeded).toBe(true);
  expect(seenByHandler.events).toEqual([{ id: 1 }, 42, 'plain']);
  expect(seenByHandler.context!.triggerMetadata).toEqual({
    partitionContext: { partitionId: '3', eventHubName: 'hub' },
    sequenceNumberArray: [5, 6, 7],
    offsetArray: [100, 200, 'x'],
    propertiesArray: [{ color: 'red' }, {}, {}],
  });
  expect(seenByHandler.context!.retryContext).toEqual({
    retryCount: 1,
    maxRetryCount: 3,
    exception: { message: 'previous attempt' },
  });
  expect(seenByHandler.context!.options.trigger.type).toBe('eventHubTrigger');
});

test('a handler that throws fails the invocation with its error', async () => {
  const failing = { ...mockRegistry.functions.get('contractEvents')! };
  failing.callback = () => {
    throw new Error('handler failed');
  };
  const triggerName = Object.keys(failing.metadata.bindings)[0];
  const result = await invoker.invoke(failing, {
    inputData: [{ name: triggerName, data: { collectionString: { string: ['1'] } } }],
    reason: '(null)',
  });
  expect(result.succeeded).toBe(false);
  expect((result.error as Error).message).toBe('handler failed');
  expect(
    logLines.some((line) =>
      /Executed 'Functions\.contractEvents' \(Failed, Id=[0-9a-f-]+, Duration=/.test(line),
    ),
  ).toBe(true);
});

test('hook contexts: pre can swap inputs and handler, post sees hookData and replaces the result, log rewrites user lines', async () => {
  const fn = mockRegistry.functions.get('contractEvents')!;
  const triggerName = Object.keys(fn.metadata.bindings)[0];
  let postSaw: Record<string, unknown> = {};
  const disposables = [
    app.hook.preInvocation((context) => {
      context.hookData.marker = 'from-pre';
      context.inputs = [['replaced input']];
      const original = context.functionHandler;
      context.functionHandler = (input: unknown, invocationContext: InvocationContext) => {
        invocationContext.log('wrapped handler saw SECRET');
        return original(input, invocationContext);
      };
    }),
    app.hook.postInvocation((context) => {
      postSaw = { marker: context.hookData.marker, inputs: context.inputs, error: context.error };
      context.result = 'replaced result';
    }),
    app.hook.log((context) => {
      if (context.category === 'user') context.message = context.message.replace('SECRET', '***');
    }),
  ];
  try {
    const result = await invoker.invoke(fn, {
      inputData: [{ name: triggerName, data: { collectionString: { string: ['original'] } } }],
      reason: '(null)',
    });
    expect(result.succeeded).toBe(true);
    expect(seenByHandler.events).toEqual(['replaced input']);
    expect(postSaw).toEqual({ marker: 'from-pre', inputs: [['replaced input']], error: null });
    expect(result.response!.returnValue).toEqual({ string: 'replaced result' });
    expect(logLines.some((line) => line.endsWith('] wrapped handler saw ***\n'))).toBe(true);
  } finally {
    disposables.forEach((disposable) => disposable.dispose());
  }
});

test('the core module rejects unknown hooks and registrations after startup, like the worker', () => {
  expect(() => mockRegistry.registerHook('beforeEverything', () => undefined)).toThrow(RangeError);
  expect(() => app.http('tooLate', { handler: async () => ({}) })).toThrow(
    /only be registered during app startup/,
  );
});
