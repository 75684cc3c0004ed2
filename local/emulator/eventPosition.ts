// Starting positions of receivers, from the selector filter the SDKs attach:
//   amqp.annotation.x-opt-offset > '<offset>'            (>= when inclusive; '-1' earliest, '@latest')
//   amqp.annotation.x-opt-sequence-number > '<n>'        (>= when inclusive)
//   amqp.annotation.x-opt-enqueued-time > '<ms since epoch>'
// with the value quoted (the JS SDK: @azure/event-hubs, src/eventPosition.ts) or not (.NET:
// Azure.Messaging.EventHubs, src/Amqp/AmqpFilter.cs writes `x-opt-offset > -1`, `> @latest`,
// sequence numbers and enqueued times bare). Azure accepts both.
import { type PartitionLog } from './store/partitionLog';

export type StartPosition =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number; inclusive: boolean }
  | { kind: 'sequenceNumber'; sequenceNumber: number; inclusive: boolean }
  | { kind: 'enqueuedTime'; timeMs: number; inclusive: boolean };

export class FilterError extends Error {
  override name = 'FilterError';
}

const EXPRESSION =
  /^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>|=)\s*(?:'([^']*)'|([^\s']+))\s*$/i;

/** Parses a selector expression; no filter at all means the start of the partition. */
export function parseStartPosition(expression: string | undefined): StartPosition {
  if (expression === undefined) return { kind: 'earliest' };
  const match = EXPRESSION.exec(expression);
  if (!match) {
    throw new FilterError(
      `The filter expression '${expression}' is not supported. Use amqp.annotation.x-opt-offset, ` +
        `amqp.annotation.x-opt-sequence-number or amqp.annotation.x-opt-enqueued-time with > or >=.`,
    );
  }
  const [, annotation, operator, quoted, bare] = match;
  const value = quoted ?? bare;
  const inclusive = operator !== '>';
  switch (annotation.toLowerCase()) {
    case 'x-opt-offset':
      if (value === '@latest') return { kind: 'latest' };
      if (value === '-1' && !inclusive) return { kind: 'earliest' };
      return { kind: 'offset', offset: integer(value, 'offset'), inclusive };
    case 'x-opt-sequence-number':
      return { kind: 'sequenceNumber', sequenceNumber: integer(value, 'sequence number'), inclusive };
    default:
      return { kind: 'enqueuedTime', timeMs: integer(value, 'enqueued time'), inclusive };
  }
}

export interface ResolvedStart {
  sequenceNumber: number;
  /**
   * The position lies beyond the end of the partition: its events are gone (an emulator restarted
   * without --data-dir). Delivery then starts at the earliest event, so nothing sent since is
   * skipped; Azure would refuse the position instead.
   */
  beyondEnd: boolean;
}

/** The sequence number of the first event to deliver. */
export function resolveStart(position: StartPosition, log: PartitionLog): ResolvedStart {
  const at = (sequenceNumber: number) => ({ sequenceNumber, beyondEnd: false });
  const earliest = { sequenceNumber: log.firstSequenceNumber, beyondEnd: true };
  switch (position.kind) {
    case 'earliest':
      return at(log.firstSequenceNumber);
    case 'latest':
      return at(log.nextSequenceNumber);
    case 'offset': {
      const beyond = position.inclusive
        ? position.offset > log.nextOffset
        : position.offset >= log.nextOffset;
      if (beyond) return earliest;
      return at(log.sequenceAfterOffset(position.offset, position.inclusive));
    }
    case 'sequenceNumber': {
      const first = position.inclusive ? position.sequenceNumber : position.sequenceNumber + 1;
      if (first > log.nextSequenceNumber) return earliest;
      // Positions before the retained range start at the oldest retained event.
      return at(Math.max(first, log.firstSequenceNumber));
    }
    case 'enqueuedTime':
      return at(log.sequenceAfterTime(position.inclusive ? position.timeMs - 1 : position.timeMs));
  }
}

function integer(value: string, what: string): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw new FilterError(`The ${what} '${value}' in the filter is not a number.`);
  return Number(value);
}
