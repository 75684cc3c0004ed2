// Conformance driver for the Event Hubs emulator: the JavaScript SDK (@azure/event-hubs), run as
// its own Node.js process like the other clients (inside jest, Buffers and Dates of the test's realm
// are not rhea's, and would be encoded as maps). Same scenarios and the same observations as test/clients/python and
// test/clients/dotnet; the assertions are in test/integration/emulator/conformance.test.ts.
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  type EventPosition,
  earliestEventPosition,
  latestEventPosition,
  type ReceivedEventData,
} from '@azure/event-hubs';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface Plan {
  connectionString: string;
  /** AMQP over WebSockets (wss, the SDK's only form), trusting this CA file. */
  webSocket?: { caFile: string };
}

export type Scenario = { name: string; hub: string } & Record<string, unknown>;

type Json = unknown;

const WAIT_MS = 20_000;
const NO_RETRIES = { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } };

export interface TypedValue {
  kind: 'string' | 'number' | 'boolean' | 'binary' | 'timestamp' | 'int' | 'long' | 'double' | 'other';
  value: unknown;
}

export function errorOf(error: unknown): { type: string; code?: string; message: string } {
  const e = error as Error & { code?: string };
  return { type: e.name ?? typeof error, code: e.code, message: e.message ?? String(error) };
}

function observed(event: ReceivedEventData, partitionId: string): Record<string, Json> {
  const properties: Record<string, TypedValue> = {};
  for (const [key, value] of Object.entries(event.properties ?? {})) properties[key] = typed(value);
  return {
    partitionId,
    sequenceNumber: event.sequenceNumber,
    offset: String(event.offset),
    enqueuedTimeMs: event.enqueuedTimeUtc.getTime(),
    partitionKey: event.partitionKey ?? null,
    body: Buffer.from(event.body as Uint8Array).toString('base64'),
    properties,
  };
}

function typed(value: unknown): TypedValue {
  // By tag, not instanceof: under jest the SDK's Buffers and Dates come from another realm.
  const tag = Object.prototype.toString.call(value);
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (typeof value === 'number') return { kind: 'number', value };
  if (typeof value === 'string') return { kind: 'string', value };
  if (tag === '[object Uint8Array]' || tag === '[object ArrayBuffer]')
    return { kind: 'binary', value: Buffer.from(value as Uint8Array).toString('base64') };
  if (tag === '[object Date]') return { kind: 'timestamp', value: (value as Date).getTime() };
  return { kind: 'other', value: JSON.stringify(value) };
}

function native(prop: TypedValue): unknown {
  switch (prop.kind) {
    case 'binary':
      return Buffer.from(prop.value as string, 'base64');
    case 'timestamp':
      return new Date(prop.value as number);
    default:
      return prop.value;
  }
}

export class JsDriver {
  private readonly options;

  constructor(private readonly plan: Plan) {
    // The SDK's WebSocket transport, as its users set it up in Node.js: the `ws` package as the
    // constructor, its options (here the CA to trust) passed through.
    this.options = plan.webSocket
      ? {
          ...NO_RETRIES,
          webSocketOptions: {
            webSocket: WebSocket,
            webSocketConstructorOptions: { ca: readFileSync(plan.webSocket.caFile) },
          },
        }
      : NO_RETRIES;
  }

  producer(hub: string, connectionString = this.plan.connectionString): EventHubProducerClient {
    return new EventHubProducerClient(connectionString, hub, this.options);
  }

  /** Receives up to `count` events or the first error; `onReady` runs once the link waits. */
  async receive(
    hub: string,
    count: number,
    options: {
      partitionId?: string;
      position?: EventPosition;
      ownerLevel?: number;
      consumerGroup?: string;
      onReady?: () => Promise<void>;
    } = {},
  ): Promise<{ events: Record<string, Json>[]; errors: Json[] }> {
    const client = new EventHubConsumerClient(
      options.consumerGroup ?? '$Default',
      this.plan.connectionString,
      hub,
      this.options,
    );
    const events: Record<string, Json>[] = [];
    const errors: Json[] = [];
    let ready = false;
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WAIT_MS);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const handlers = {
          processEvents: async (batch: ReceivedEventData[], context: { partitionId: string }) => {
            if (batch.length === 0 && options.onReady && !ready) {
              ready = true;
              await options.onReady();
            }
            for (const event of batch) events.push(observed(event, context.partitionId));
            if (events.length >= count) done();
          },
          processError: async (error: Error) => {
            errors.push(errorOf(error));
            done();
          },
        };
        const subscribeOptions = {
          startPosition: options.position ?? earliestEventPosition,
          ownerLevel: options.ownerLevel,
          maxWaitTimeInSeconds: 0.5,
          maxBatchSize: Math.min(Math.max(count, 1), 500),
          skipParsingBodyAsJson: true,
        };
        if (options.partitionId === undefined) client.subscribe(handlers, subscribeOptions);
        else client.subscribe(options.partitionId, handlers, subscribeOptions);
      });
    } finally {
      await client.close();
    }
    return { events, errors };
  }

  async run(scenario: Scenario): Promise<Json> {
    switch (scenario.name) {
      case 'properties':
        return this.properties(scenario.hub);
      case 'batchLimit':
        return this.batchLimit(scenario.hub);
      case 'routing':
        return this.routing(scenario.hub, scenario.partitionKey as string);
      case 'positions':
        return this.positions(scenario.hub);
      case 'stealing':
        return this.stealing(scenario.hub);
      case 'multipleReceivers':
        return this.multipleReceivers(scenario.hub);
      case 'wrongKey':
        return this.wrongKey(scenario.hub);
      case 'unknownEntities':
        return this.unknownEntities(
          scenario.hub,
          scenario.missingHub as string,
          scenario.missingConsumerGroup as string,
        );
      case 'fixtureSend':
        return this.fixtureSend(
          scenario.hub,
          scenario.partitionId as string,
          scenario.fixtures as { body: string; properties: Record<string, TypedValue> }[],
        );
      case 'fixtureRead':
        return this.receive(scenario.hub, scenario.count as number);
      default:
        throw new Error(`unknown scenario ${scenario.name}`);
    }
  }

  private async withProducer<T>(hub: string, use: (producer: EventHubProducerClient) => Promise<T>) {
    const producer = this.producer(hub);
    try {
      return await use(producer);
    } finally {
      await producer.close();
    }
  }

  private properties(hub: string) {
    return this.withProducer(hub, async (producer) => {
      await producer.sendBatch(
        [{ body: Buffer.from('a') }, { body: Buffer.from('b') }, { body: Buffer.from('c') }],
        {
          partitionId: '1',
        },
      );
      const props = await producer.getEventHubProperties();
      const partitions: Record<string, Json> = {};
      for (const id of ['0', '1']) partitions[id] = await partitionSummary(producer, id);
      return {
        hub: { name: props.name, partitionIds: props.partitionIds, createdAtMs: props.createdOn.getTime() },
        partitions,
      };
    });
  }

  private batchLimit(hub: string) {
    return this.withProducer(hub, async (producer) => {
      const batch = await producer.createBatch({ partitionId: '0' });
      let count = 0;
      while (batch.tryAdd({ body: Buffer.alloc(1000, 0x78) })) count++;
      await producer.sendBatch(batch);
      const result: Record<string, Json> = {
        count,
        sizeInBytes: batch.sizeInBytes,
        maxSizeInBytes: batch.maxSizeInBytes,
      };
      try {
        await producer.sendBatch([{ body: Buffer.alloc(1_100_000, 0x78) }], { partitionId: '0' });
        result.oversizedError = null;
      } catch (error) {
        result.oversizedError = errorOf(error);
      }
      result.partition = await partitionSummary(producer, '0');
      return result;
    });
  }

  private routing(hub: string, partitionKey: string) {
    return this.withProducer(hub, async (producer) => {
      await producer.sendBatch([{ body: Buffer.from('explicit') }], { partitionId: '2' });
      const afterExplicit = await lastSequenceNumbers(producer);
      await producer.sendBatch([{ body: Buffer.from('k1') }], { partitionKey });
      const afterKey1 = await lastSequenceNumbers(producer);
      await producer.sendBatch([{ body: Buffer.from('k2') }], { partitionKey });
      const afterKey2 = await lastSequenceNumbers(producer);
      return { afterExplicit, afterKey1, afterKey2 };
    });
  }

  private async positions(hub: string) {
    await this.withProducer(hub, async (producer) => {
      for (let i = 0; i < 5; i++)
        await producer.sendBatch([{ body: Buffer.from(`e${i}`) }], { partitionId: '0' });
    });
    const { events } = await this.receive(hub, 5, { partitionId: '0' });
    const third = events[2];
    const first = async (position: EventPosition) => {
      const got = await this.receive(hub, 1, { partitionId: '0', position });
      return got.events.length ? got.events[0].sequenceNumber : got.errors;
    };
    const latest = await this.receive(hub, 1, {
      partitionId: '0',
      position: latestEventPosition,
      onReady: () =>
        this.withProducer(hub, (p) => p.sendBatch([{ body: Buffer.from('e5') }], { partitionId: '0' })),
    });
    return {
      events,
      first: {
        earliest: await first(earliestEventPosition),
        latest: latest.events.length ? latest.events[0].sequenceNumber : latest.errors,
        offsetInclusive: await first({ offset: third.offset as string, isInclusive: true }),
        offsetExclusive: await first({ offset: third.offset as string, isInclusive: false }),
        sequenceNumberInclusive: await first({
          sequenceNumber: third.sequenceNumber as number,
          isInclusive: true,
        }),
        sequenceNumberExclusive: await first({
          sequenceNumber: third.sequenceNumber as number,
          isInclusive: false,
        }),
        enqueuedTime: await first({ enqueuedOn: third.enqueuedTimeMs as number }),
      },
    };
  }

  /**
   * Owner 1 reads; once it waits, owner 2 attaches (stealing); once that waits, an owner 1 tries
   * again (refused while 2 holds the partition). Then one event ends owner 2's read.
   */
  private async stealing(hub: string) {
    let secondAttached = false;
    let lower: { errors: Json[] } = { errors: [] };
    let second: Promise<unknown> | undefined;
    const first = await this.receive(hub, 1, {
      partitionId: '0',
      ownerLevel: 1,
      onReady: async () => {
        second = this.receive(hub, 1, {
          partitionId: '0',
          ownerLevel: 2,
          onReady: async () => {
            secondAttached = true;
            lower = await this.receive(hub, 1, { partitionId: '0', ownerLevel: 1 });
            await this.withProducer(hub, (p) =>
              p.sendBatch([{ body: Buffer.from('end') }], { partitionId: '0' }),
            );
          },
        });
      },
    });
    await second;
    return { first: first.errors, secondAttached, lower: lower.errors };
  }

  private async multipleReceivers(hub: string) {
    await this.withProducer(hub, async (producer) => {
      for (const id of await producer.getPartitionIds())
        await producer.sendBatch([{ body: Buffer.from(`p${id}`) }], { partitionId: id });
    });
    const got = await this.receive(hub, 4);
    const bodies: Record<string, string> = {};
    for (const event of got.events)
      bodies[event.partitionId as string] = Buffer.from(event.body as string, 'base64').toString();
    return { bodies, errors: got.errors };
  }

  private async wrongKey(hub: string) {
    const wrong = this.plan.connectionString.replace(
      'SharedAccessKey=SAS_KEY_VALUE',
      'SharedAccessKey=not-the-key',
    );
    const producer = this.producer(hub, wrong);
    try {
      await producer.getEventHubProperties();
      return { error: null };
    } catch (error) {
      return { error: errorOf(error) };
    } finally {
      await producer.close();
    }
  }

  private async unknownEntities(hub: string, missingHub: string, missingConsumerGroup: string) {
    let hubError: Json = null;
    const producer = this.producer(missingHub);
    try {
      await producer.getEventHubProperties();
    } catch (error) {
      hubError = errorOf(error);
    } finally {
      await producer.close();
    }
    const got = await this.receive(hub, 1, { partitionId: '0', consumerGroup: missingConsumerGroup });
    return { hubError, consumerGroupErrors: got.errors };
  }

  private fixtureSend(
    hub: string,
    partitionId: string,
    fixtures: { body: string; properties: Record<string, TypedValue> }[],
  ) {
    return this.withProducer(hub, async (producer) => {
      const batch = await producer.createBatch({ partitionId });
      for (const fixture of fixtures) {
        const properties = Object.fromEntries(
          Object.entries(fixture.properties).map(([name, prop]) => [name, native(prop)]),
        );
        if (!batch.tryAdd({ body: Buffer.from(fixture.body, 'base64'), properties }))
          throw new Error('fixture does not fit in one batch');
      }
      await producer.sendBatch(batch);
      return { sent: fixtures.length };
    });
  }
}

async function partitionSummary(producer: EventHubProducerClient, partitionId: string) {
  const p = await producer.getPartitionProperties(partitionId);
  return {
    beginSequenceNumber: p.beginningSequenceNumber,
    lastSequenceNumber: p.lastEnqueuedSequenceNumber,
    lastOffset: String(p.lastEnqueuedOffset),
    isEmpty: p.isEmpty,
    lastEnqueuedTimeMs: p.lastEnqueuedOnUtc.getTime(),
  };
}

async function lastSequenceNumbers(producer: EventHubProducerClient) {
  const result: Record<string, number> = {};
  for (const id of await producer.getPartitionIds())
    result[id] = (await producer.getPartitionProperties(id)).lastEnqueuedSequenceNumber;
  return result;
}

/** `node --import tsx test/clients/js/conformance.ts <plan.json>`: one JSON line per scenario. */
async function main(planFile: string): Promise<void> {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan & { scenarios: Scenario[] };
  const driver = new JsDriver(plan);
  for (const scenario of plan.scenarios) {
    let line;
    try {
      line = { scenario: scenario.name, result: await driver.run(scenario) };
    } catch (error) {
      line = { scenario: scenario.name, error: errorOf(error) };
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

if (require.main === module) {
  main(process.argv[2]).catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
