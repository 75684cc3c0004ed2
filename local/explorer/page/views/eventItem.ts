// One event as a disclosure: a one-line summary (sequence number, time, content type, key, the
// body's start) that opens to the whole body and both property tables. Also used for dead letters.
import type { BodyView, EventView } from '../../api';
import { h, propertyTable } from '../dom';
import { bodyPreview, renderBody, utc } from '../format';

export function bodyBlock(body: BodyView, contentType: string | null): HTMLElement {
  const rendered = renderBody(body, contentType);
  return h(
    'div',
    { class: 'body' },
    h('p', { class: 'body-label' }, `Body: ${rendered.label}`),
    h('pre', { tabindex: 0 }, rendered.text),
  );
}

export function eventItem(event: EventView, open = false): HTMLElement {
  const system: Record<string, unknown> = {
    sequenceNumber: event.sequenceNumber,
    offset: event.offset,
    enqueuedTimeUtc: event.enqueuedTimeUtc,
    partitionKey: event.partitionKey,
    contentType: event.contentType,
    messageId: event.messageId,
    correlationId: event.correlationId,
    ...event.systemProperties,
  };
  return h(
    'li',
    {
      class: 'event',
      id: `event-${event.partitionId}-${event.sequenceNumber}`,
      'data-sequence': event.sequenceNumber,
    },
    h(
      'details',
      { open },
      h(
        'summary',
        {},
        h('span', { class: 'seq' }, `#${event.sequenceNumber}`),
        h('time', { datetime: event.enqueuedTimeUtc }, utc(event.enqueuedTimeUtc)),
        h('span', { class: 'tag' }, event.contentType ?? 'no content type'),
        event.partitionKey !== null && h('span', { class: 'tag' }, `key ${event.partitionKey}`),
        Object.keys(event.properties).length > 0 &&
          h(
            'span',
            { class: 'tag' },
            countOf(Object.keys(event.properties).length, 'property', 'properties'),
          ),
        h('code', { class: 'preview' }, bodyPreview(event.body)),
      ),
      h(
        'div',
        { class: 'event-detail' },
        bodyBlock(event.body, event.contentType),
        h(
          'div',
          { class: 'property-tables' },
          propertyTable('Application properties', event.properties),
          propertyTable('System properties', system),
        ),
      ),
    ),
  );
}

function countOf(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
