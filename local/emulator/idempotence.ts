// Idempotent publishing (the buffered producer's enableIdempotentRetries): a producer link asks
// for com.microsoft:idempotent-producer and gets a producer id, an epoch and the last sequence
// number published; every event then carries its producer sequence number. A batch that repeats
// what was already stored is acknowledged without storing it again (once the store it repeats is
// durable, as every acknowledgement), one that skips ahead is refused. State is kept in memory per
// partition and producer id, and forgotten once a producer has had no link for an hour (a
// restarted emulator, or a producer returning after that, is taken at its word for its last
// sequence number).
import { types } from 'rhea';
import { type AmqpError, Condition } from './errors';

export const IDEMPOTENT_CAPABILITY = 'com.microsoft:idempotent-producer';
export const PRODUCER_EPOCH = 'com.microsoft:producer-epoch';
export const PRODUCER_ID = 'com.microsoft:producer-id';
export const PRODUCER_SEQUENCE_NUMBER = 'com.microsoft:producer-sequence-number';

interface ProducerState {
  epoch: number;
  /** The last sequence number accepted for storing (stored, or being stored). */
  lastSequenceNumber: number;
  /** The last sequence number known to be stored. */
  storedSequenceNumber: number;
  /** Settles when the latest store begun for this producer has completed or failed. */
  storing: Promise<void>;
  /** Open links of this producer; state without links expires. */
  links: number;
  idleSinceMs: number;
}

/** How long the state of a producer without links is kept. */
export const PRODUCER_IDLE_MS = 60 * 60 * 1000;

export interface IdempotentProducer {
  key: string;
  producerId: number;
  epoch: number;
}

export type BatchCheck = 'store' | 'duplicate' | AmqpError;

export class ProducerRegistry {
  private readonly producers = new Map<string, ProducerState>();
  // Ids unique across restarts too, so a stale client never matches a new producer's state.
  private nextProducerId = Date.now();

  constructor(
    private readonly idleMs = PRODUCER_IDLE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Producers whose state is kept. */
  get size(): number {
    return this.producers.size;
  }

  /** Registers a producer link; returns the link properties to answer with, or a refusal. */
  attach(
    partitionKey: string,
    requested: Record<string, unknown>,
  ): { producer: IdempotentProducer; properties: Record<string, unknown> } | AmqpError {
    this.forgetIdle();
    const requestedId = numberOrUndefined(requested[PRODUCER_ID]);
    const requestedEpoch = numberOrUndefined(requested[PRODUCER_EPOCH]);
    const requestedSequence = numberOrUndefined(requested[PRODUCER_SEQUENCE_NUMBER]);
    const producerId = requestedId ?? this.nextProducerId++;
    const key = `${partitionKey}/${producerId}`;
    const existing = this.producers.get(key);
    const epoch = requestedEpoch ?? existing?.epoch ?? 0;
    if (existing && epoch < existing.epoch) {
      return {
        condition: Condition.producerEpochStolen,
        description: `The producer epoch ${epoch} is lower than the current epoch ${existing.epoch} of producer ${producerId}.`,
      };
    }
    const lastSequenceNumber = existing?.lastSequenceNumber ?? requestedSequence ?? -1;
    const state: ProducerState = {
      epoch,
      lastSequenceNumber,
      storedSequenceNumber: existing?.storedSequenceNumber ?? lastSequenceNumber,
      storing: existing?.storing ?? Promise.resolve(),
      links: (existing?.links ?? 0) + 1,
      idleSinceMs: this.now(),
    };
    this.producers.set(key, state);
    return {
      producer: { key, producerId, epoch },
      properties: {
        [PRODUCER_EPOCH]: types.wrap_short(epoch),
        [PRODUCER_ID]: types.wrap_long(producerId),
        [PRODUCER_SEQUENCE_NUMBER]: types.wrap_int(state.lastSequenceNumber),
      },
    };
  }

  /** A producer's link closed. */
  detach(producer: IdempotentProducer): void {
    const state = this.producers.get(producer.key);
    if (!state) return;
    state.links = Math.max(0, state.links - 1);
    state.idleSinceMs = this.now();
  }

  private forgetIdle(): void {
    const cutoff = this.now() - this.idleMs;
    for (const [key, state] of this.producers) {
      if (state.links === 0 && state.idleSinceMs <= cutoff) this.producers.delete(key);
    }
  }

  /** Decides what to do with a batch whose first event has `firstSequenceNumber`. */
  check(producer: IdempotentProducer, firstSequenceNumber: number | undefined, count: number): BatchCheck {
    const state = this.producers.get(producer.key)!;
    if (firstSequenceNumber === undefined) {
      return {
        condition: Condition.argumentError,
        description: `Events from an idempotent producer must carry ${PRODUCER_SEQUENCE_NUMBER}.`,
      };
    }
    if (firstSequenceNumber === state.lastSequenceNumber + 1) return 'store';
    if (firstSequenceNumber + count - 1 <= state.lastSequenceNumber) return 'duplicate';
    return {
      condition: Condition.outOfOrderSequence,
      description:
        `The supplied sequence number ${firstSequenceNumber} is invalid for producer ${producer.producerId}: ` +
        `the last published sequence number is ${state.lastSequenceNumber}.`,
    };
  }

  /**
   * Records that a checked batch is being stored; returns the function to call with the outcome
   * of the store. A failed store rewinds, so the producer's retry of it is stored, not ignored.
   */
  beginStore(
    producer: IdempotentProducer,
    firstSequenceNumber: number,
    count: number,
  ): (error: Error | undefined) => void {
    const state = this.producers.get(producer.key)!;
    const last = firstSequenceNumber + count - 1;
    state.lastSequenceNumber = last;
    let settle!: () => void;
    state.storing = new Promise<void>((resolve) => (settle = resolve));
    return (error) => {
      if (error) state.lastSequenceNumber = Math.min(state.lastSequenceNumber, firstSequenceNumber - 1);
      else state.storedSequenceNumber = Math.max(state.storedSequenceNumber, last);
      settle();
    };
  }

  /**
   * For a duplicate batch: resolves true once the store it repeats is durable, false if that store
   * failed (the batch must then be refused, not acknowledged: it is not stored).
   */
  async whenStored(producer: IdempotentProducer, lastSequenceNumber: number): Promise<boolean> {
    const state = this.producers.get(producer.key)!;
    // Stores of one producer complete in order: the latest one settles after all earlier ones.
    while (state.storedSequenceNumber < lastSequenceNumber) {
      const storing = state.storing;
      await storing;
      if (state.storing === storing) break;
    }
    return state.storedSequenceNumber >= lastSequenceNumber;
  }
}

function numberOrUndefined(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}
