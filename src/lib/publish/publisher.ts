// Packs a request's events into as few batches as Event Hubs allows, then sends the batches in order.
// Every batch is packed before the first is sent, so an event that can never fit is refused before
// anything reaches the hub; once sending starts, a failure reports how many events Event Hubs confirmed
// and how many were sent without an answer (they may be stored).
import type { CreateBatchOptions, EventData, EventDataBatch, OperationOptions } from '@azure/event-hubs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventHubsDeadline } from './eventHubsDeadline';
import { mayHaveBeenStored } from './eventHubsErrors';

/**
 * Packing encodes every event; between this many events it yields to the event loop, so that a request
 * of many small events does not hold up the instance's other requests.
 */
const EVENTS_PER_TURN = 500;

/** The part of EventHubProducerClient the app uses; EventHubProducerClient satisfies it as is. */
export interface EventProducer {
  getPartitionIds(options: OperationOptions): Promise<string[]>;
  createBatch(options: CreateBatchOptions): Promise<EventDataBatch>;
  sendBatch(batch: EventDataBatch, options: OperationOptions): Promise<void>;
}

export type Routing =
  | { type: 'roundRobin' }
  | { type: 'partitionKey'; partitionKey: string }
  | { type: 'partitionId'; partitionId: string };

export interface PublishResult {
  eventsAccepted: number;
  batchesSent: number;
}

/** An event larger than an empty batch: no retry can ever send it. */
export class EventTooLargeError extends Error {
  override readonly name = 'EventTooLargeError';
  constructor(
    readonly index: number,
    readonly maxBatchBytes: number,
  ) {
    super(`Event ${index} is larger than the largest batch Event Hubs accepts (${maxBatchBytes} bytes)`);
  }
}

/**
 * Publishing stopped. The first `eventsAccepted` events are in the hub (Event Hubs confirmed them); the
 * next `eventsUnconfirmed` (the batch in flight, number `batchesSent + 1` of `batchCount`) were sent
 * without an answer and may be stored; the rest were not sent.
 */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly eventsAccepted: number,
    readonly batchesSent: number,
    readonly eventsUnconfirmed: number,
    readonly batchCount: number,
    override readonly cause: unknown,
  ) {
    super(`Publishing stopped after ${eventsAccepted} accepted events (${eventsUnconfirmed} unconfirmed)`);
  }
}

export async function publishEvents(
  producer: EventProducer,
  events: readonly EventData[],
  routing: Routing,
  deadline: EventHubsDeadline,
): Promise<PublishResult> {
  const batches = await packBatches(producer, events, routing, deadline);
  let eventsAccepted = 0;
  let batchesSent = 0;
  for (const batch of batches) {
    let sendStarted = false;
    try {
      await deadline.run((abortSignal) => {
        sendStarted = true;
        return producer.sendBatch(batch, { abortSignal });
      });
    } catch (error) {
      // A deadline already spent before this send refuses it unsent.
      const unconfirmed = sendStarted && mayHaveBeenStored(error) ? batch.count : 0;
      throw new PublishError(eventsAccepted, batchesSent, unconfirmed, batches.length, error);
    }
    eventsAccepted += batch.count;
    batchesSent += 1;
  }
  return { eventsAccepted, batchesSent };
}

async function packBatches(
  producer: EventProducer,
  events: readonly EventData[],
  routing: Routing,
  deadline: EventHubsDeadline,
): Promise<EventDataBatch[]> {
  const newBatch = async () => {
    try {
      return await deadline.run((abortSignal) =>
        producer.createBatch({ ...batchRouting(routing), abortSignal }),
      );
    } catch (error) {
      throw new PublishError(0, 0, 0, 0, error);
    }
  };
  const batches: EventDataBatch[] = [];
  let current = await newBatch();
  for (const [index, event] of events.entries()) {
    if (index > 0 && index % EVENTS_PER_TURN === 0) await nextTurn();
    if (current.tryAdd(event)) continue;
    if (current.count === 0) throw new EventTooLargeError(index, current.maxSizeInBytes);
    batches.push(current);
    current = await newBatch();
    if (!current.tryAdd(event)) throw new EventTooLargeError(index, current.maxSizeInBytes);
  }
  if (current.count > 0) batches.push(current);
  return batches;
}

function batchRouting(routing: Routing): Pick<CreateBatchOptions, 'partitionKey' | 'partitionId'> {
  switch (routing.type) {
    case 'partitionKey':
      return { partitionKey: routing.partitionKey };
    case 'partitionId':
      return { partitionId: routing.partitionId };
    case 'roundRobin':
      return {};
  }
}
