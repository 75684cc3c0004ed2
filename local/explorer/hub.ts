// The explorer's view of the hub, through the Event Hubs SDK as any client sees it: the management
// operations (hub and partition properties) and receivers in the `$Default` consumer group, never
// the app's (the host reads that one with an owner level, and Event Hubs refuses a plain receiver
// next to one), made as `npm run checkpoints` makes its reader (src/lib/consume/eventHubReader.ts). A peek is one short-lived receiver from a position; the live view is
// one subscription from the latest event on every partition while a page is watching. They use two
// clients (two connections): one client allows one subscription per partition at a time, so peeks
// of a partition also wait for each other.
import {
  latestEventPosition,
  type EventHubConsumerClient,
  type EventPosition,
  type ReceivedEventData,
  type Subscription,
} from '@azure/event-hubs';
import { createReaderClient, READER_CONSUMER_GROUP } from '../../src/lib/consume/eventHubReader';
import type { Environment } from '../../src/lib/settings';
import type { EventPage, EventView, PartitionView, StartPosition } from './api';
import { toEventView, toPartitionView } from './eventView';

export const EXPLORER_CONSUMER_GROUP = READER_CONSUMER_GROUP;
export const MAX_PAGE_SIZE = 100;
/** A peek never waits longer than this for its events (the receiver's attach included). */
const PEEK_DEADLINE_MS = 15_000;

export class ExplorerError extends Error {
  override readonly name = 'ExplorerError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class HubReader {
  private readonly client: EventHubConsumerClient;
  private readonly liveClient: EventHubConsumerClient;
  private readonly peeking = new Map<string, Promise<unknown>>();

  constructor(env: Environment) {
    this.client = createReaderClient(env);
    this.liveClient = createReaderClient(env);
  }

  get namespace(): string {
    return this.client.fullyQualifiedNamespace;
  }

  get eventHubName(): string {
    return this.client.eventHubName;
  }

  async hub(): Promise<{ createdOn: string | null; partitionIds: string[] }> {
    const properties = await this.client.getEventHubProperties();
    const created = properties.createdOn;
    return {
      createdOn: created instanceof Date && !isNaN(created.getTime()) ? created.toISOString() : null,
      partitionIds: properties.partitionIds,
    };
  }

  async partitions(partitionIds: string[]): Promise<PartitionView[]> {
    return Promise.all(
      partitionIds.map(async (id) => toPartitionView(await this.client.getPartitionProperties(id))),
    );
  }

  /** Up to `count` events of one partition from a position, with the positions of the pages around it. */
  peek(partitionId: string, from: StartPosition, count: number): Promise<EventPage> {
    const previous = this.peeking.get(partitionId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.readPage(partitionId, from, count));
    this.peeking.set(partitionId, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.peeking.get(partitionId) === next) this.peeking.delete(partitionId);
      });
    return next;
  }

  private async readPage(partitionId: string, from: StartPosition, count: number): Promise<EventPage> {
    const partition = toPartitionView(await this.client.getPartitionProperties(partitionId));
    const first = partition.beginningSequenceNumber;
    const last = partition.lastEnqueuedSequenceNumber;
    let position: EventPosition | undefined;
    if (!partition.isEmpty) {
      if (from.kind === 'earliest') position = { sequenceNumber: first, isInclusive: true };
      if (from.kind === 'latest')
        position = { sequenceNumber: Math.max(first, last - count + 1), isInclusive: true };
      if (from.kind === 'sequence' && from.sequenceNumber <= last)
        position = { sequenceNumber: Math.max(first, from.sequenceNumber), isInclusive: true };
      if (from.kind === 'time') position = { enqueuedOn: new Date(from.enqueuedOn) };
    }
    const received = position ? await this.receive(partitionId, position, count, last) : [];
    const events = received.slice(0, count).map((event) => toEventView(partitionId, event));
    const firstShown = events[0]?.sequenceNumber;
    const lastShown = events.at(-1)?.sequenceNumber;
    return {
      partitionId,
      from,
      events,
      newer: lastShown !== undefined && lastShown < last ? lastShown + 1 : null,
      older: partition.isEmpty
        ? null
        : firstShown === undefined
          ? Math.max(first, last - count + 1)
          : firstShown > first
            ? Math.max(first, firstShown - count)
            : null,
      partition,
    };
  }

  /** Every new event on every partition, from now on, until the subscription is closed. */
  live(onEvents: (events: EventView[]) => void): Subscription {
    return this.liveClient.subscribe(
      {
        processEvents: async (batch, context) => {
          if (batch.length) onEvents(batch.map((event) => toEventView(context.partitionId, event)));
        },
        // The SDK retries by itself; the page shows the partitions' state from the management poll.
        processError: async () => undefined,
      },
      {
        startPosition: latestEventPosition,
        skipParsingBodyAsJson: true,
        maxBatchSize: 100,
        maxWaitTimeInSeconds: 5,
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.client.close(), this.liveClient.close()]);
  }

  private receive(
    partitionId: string,
    startPosition: EventPosition,
    count: number,
    lastSequenceNumber: number,
  ): Promise<ReceivedEventData[]> {
    return new Promise((resolve, reject) => {
      const events: ReceivedEventData[] = [];
      let done = false;
      let subscription: Subscription | undefined = undefined;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        // Closing a subscription also waits for a handler that is running: not from inside one.
        setImmediate(() => {
          void (subscription?.close() ?? Promise.resolve()).finally(() =>
            error === undefined ? resolve(events) : reject(error),
          );
        });
      };
      const deadline = setTimeout(() => finish(), PEEK_DEADLINE_MS);
      subscription = this.client.subscribe(
        partitionId,
        {
          processEvents: async (batch) => {
            if (done) return;
            events.push(...batch);
            const reachedEnd = (events.at(-1)?.sequenceNumber ?? -1) >= lastSequenceNumber;
            if (batch.length === 0 || events.length >= count || reachedEnd) finish();
          },
          processError: async (error) => finish(error),
        },
        {
          startPosition,
          maxBatchSize: count,
          maxWaitTimeInSeconds: 1,
          skipParsingBodyAsJson: true,
          prefetchCount: count,
        },
      );
    });
  }
}
