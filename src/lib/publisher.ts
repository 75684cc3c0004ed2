// Packs a request's events into as few batches as Event Hubs allows, then sends the batches in order.
// Every batch is packed before the first is sent, so an event that can never fit is refused before
// anything reaches the hub; once sending starts, a failure reports exactly how many events were accepted.
import type { CreateBatchOptions, EventData, EventDataBatch, OperationOptions } from '@azure/event-hubs';

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

/** Publishing stopped: the first `eventsAccepted` events are in the hub, the rest are not (or not confirmed). */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly eventsAccepted: number,
    readonly batchesSent: number,
    override readonly cause: unknown,
  ) {
    super(`Publishing stopped after ${eventsAccepted} accepted events`);
  }
}

export async function publishEvents(
  producer: EventProducer,
  events: readonly EventData[],
  routing: Routing,
  abortSignal: AbortSignal,
): Promise<PublishResult> {
  const batches = await packBatches(producer, events, routing, abortSignal);
  let eventsAccepted = 0;
  let batchesSent = 0;
  for (const batch of batches) {
    try {
      await producer.sendBatch(batch, { abortSignal });
    } catch (error) {
      throw new PublishError(eventsAccepted, batchesSent, error);
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
  abortSignal: AbortSignal,
): Promise<EventDataBatch[]> {
  const options: CreateBatchOptions = { ...batchRouting(routing), abortSignal };
  const newBatch = async () => {
    try {
      return await producer.createBatch(options);
    } catch (error) {
      throw new PublishError(0, 0, error);
    }
  };
  const batches: EventDataBatch[] = [];
  let current = await newBatch();
  for (const [index, event] of events.entries()) {
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
