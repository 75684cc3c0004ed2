// Refusals produced for real: by the project's emulator (a wrong SAS key, a hub that does not exist) and
// by DNS (a namespace host name that does not exist). The app's own producer client and handler answer them; the response body must
// carry the documented status and code, and nothing secret.
import type { HttpResponseInit } from '@azure/functions';
import type { EventHubProducerClient } from '@azure/event-hubs';
import { createPublishEventsHandler } from '../../../src/functions/publishEvents';
import { createProducerClient } from '../../../src/lib/publish/eventHubClient';
import { capturingContext, eventsRequest, type CapturedLog } from '../../unit/support/invocation';
import { startTestEmulator, type TestEmulator } from '../../support/emulator';
import { partitionEnds as endsOf, type PartitionEnds } from '../../support/partitionEnds';
import { SETTING_NAMES } from '../../../src/lib/settings';

const WRONG_KEY = 'd3Jvbmcta2V5LW5vdC10aGUtZW11bGF0b3Jz';
let emulator: TestEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator([{ name: 'events', partitions: 2, consumerGroups: [] }]);
});

/** The answer when Event Hubs refused for good before any event was accepted. */
const NOTHING_PUBLISHED = {
  error: {
    code: 'publish_failed',
    message: "Publishing failed; see the function's logs. No event was published.",
    eventsAccepted: 0,
    eventsUnconfirmed: 0,
    retryFromIndex: 0,
  },
};

afterAll(async () => {
  await emulator?.stop();
});

async function publishWith(
  connectionString: string,
  eventHubName: string,
): Promise<{ response: HttpResponseInit; logs: CapturedLog[] }> {
  const producer: EventHubProducerClient = createProducerClient({
    [SETTING_NAMES.eventHubConnection]: connectionString,
    [SETTING_NAMES.eventHubName]: eventHubName,
  });
  const handler = createPublishEventsHandler({
    readSettings: () => ({ maxRequestBytes: 1024, maxEventsPerRequest: 10, publishTimeoutMs: 10_000 }),
    getProducer: () => producer,
  });
  try {
    const { context, logs } = capturingContext();
    const request = eventsRequest({ contentType: 'application/json', body: '[1,2]' });
    const response = (await handler(request, context)) as HttpResponseInit;
    return { response, logs };
  } finally {
    await producer.close();
  }
}

/** Per partition of the emulator's hub, the sequence number of its last event (-1 while empty). */
async function partitionEnds(): Promise<PartitionEnds> {
  return endsOf(emulator.connectionString, 'events');
}

test('a wrong SAS key: 500 publish_failed (a retry will not fix it), nothing published, no key in the answer', async () => {
  const before = await partitionEnds();
  const wrongKey = emulator.connectionString.replace(/SharedAccessKey=[^;]*/, `SharedAccessKey=${WRONG_KEY}`);
  const { response, logs } = await publishWith(wrongKey, 'events');

  expect(response.status).toBe(500);
  expect(response.headers).not.toHaveProperty('Retry-After');
  expect(response.jsonBody).toEqual(NOTHING_PUBLISHED);
  expect(await partitionEnds()).toEqual(before);
  // The log names the cause (the SDK retried it, so it arrives as an AggregateError) and no secret.
  expect(logs.map((log) => log.level)).toEqual(['error']);
  expect(logs[0].message).toMatch(
    /^PublishFailed .*"error":"MessagingError \(UnauthorizedError\): InvalidSignature/,
  );
  expect(logs[0].message).toContain('(last of 3 attempts)');
  for (const text of [JSON.stringify(response), logs[0].message]) {
    expect(text).not.toContain(WRONG_KEY);
    expect(text).not.toContain('SAS_KEY_VALUE');
  }
  expect(JSON.stringify(response.jsonBody)).not.toMatch(/SharedAccess|InvalidSignature|127\.0\.0\.1/);
});

test('an unknown hub: 500 publish_failed naming no SDK detail, nothing published', async () => {
  const before = await partitionEnds();
  const { response, logs } = await publishWith(emulator.connectionString, 'no-such-hub');

  expect(response.status).toBe(500);
  expect(response.jsonBody).toEqual(NOTHING_PUBLISHED);
  expect(await partitionEnds()).toEqual(before);
  expect(logs.map((log) => log.level)).toEqual(['error']);
  expect(logs[0].message).toContain('"error":"MessagingError (MessagingEntityNotFoundError): ');
  expect(logs[0].message).toContain('no-such-hub');
  expect(JSON.stringify(response)).not.toContain('SAS_KEY_VALUE');
});

test('a namespace that does not resolve (ENOTFOUND): 500 publish_failed, not a 503 retry loop', async () => {
  const unresolvable =
    'Endpoint=sb://nonexistent.invalid;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;';
  const { response, logs } = await publishWith(unresolvable, 'events');

  expect(response.status).toBe(500);
  expect(response.headers).not.toHaveProperty('Retry-After');
  expect(response.jsonBody).toMatchObject({ error: { code: 'publish_failed', eventsAccepted: 0 } });
  expect(logs.map((log) => log.level)).toEqual(['error']);
  expect(logs[0].message).toContain('(ENOTFOUND): getaddrinfo ENOTFOUND nonexistent.invalid');
  expect(JSON.stringify(response)).not.toMatch(/SAS_KEY_VALUE|nonexistent\.invalid/);
});
