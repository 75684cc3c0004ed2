// Peek a partition from a position (newest page, earliest, a sequence number or an enqueued time),
// page by page; new events of the partition join the list as they arrive while it shows the newest.
import type { EventPage, EventView } from '../../api';
import { h, replace } from '../dom';
import { getJson } from '../http';
import { on, state } from '../state';
import { eventItem } from './eventItem';
import { viewHref, type View } from './view';

const FROM_LABELS: Record<string, string> = {
  latest: 'Newest events',
  earliest: 'Earliest retained event',
  sequence: 'Sequence number',
  time: 'Enqueued time',
};

export function eventsView(): View {
  const partition = h('select', { id: 'events-partition', name: 'partition' });
  const from = h(
    'select',
    { id: 'events-from', name: 'from' },
    Object.entries(FROM_LABELS).map(([value, label]) => h('option', { value }, label)),
  );
  const value = h('input', {
    id: 'events-value',
    name: 'value',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'off',
  });
  const valueLabel = h('label', { for: 'events-value' }, 'Sequence number');
  const count = h(
    'select',
    { id: 'events-count', name: 'count' },
    ['10', '20', '50', '100'].map((n) => h('option', { value: n }, n)),
  );
  count.value = '20';
  const follow = h('input', { id: 'events-follow', type: 'checkbox', checked: true });
  const older = h('button', { type: 'button', disabled: true }, '← Older');
  const newer = h('button', { type: 'button', disabled: true }, 'Newer →');
  const summary = h('p', { id: 'events-summary', role: 'status' });
  const list = h('ol', { id: 'event-list', class: 'events', 'aria-label': 'Events' });
  let page: EventPage | undefined;
  let request = 0;

  const valueField = h('div', { class: 'field' }, valueLabel, value);
  const syncValueField = () => {
    const kind = from.value;
    value.disabled = kind === 'latest' || kind === 'earliest';
    valueField.hidden = value.disabled;
    valueLabel.textContent =
      kind === 'time' ? 'Enqueued after (ISO 8601, UTC unless a zone is given)' : 'Sequence number';
    value.setAttribute('inputmode', kind === 'time' ? 'text' : 'numeric');
    value.placeholder = kind === 'time' ? '2026-01-31T12:00:00Z' : kind === 'sequence' ? '0' : '';
  };
  from.addEventListener('change', syncValueField);

  const form = h(
    'form',
    { class: 'controls', 'aria-label': 'Which events' },
    h('div', { class: 'field' }, h('label', { for: 'events-partition' }, 'Partition'), partition),
    h('div', { class: 'field' }, h('label', { for: 'events-from' }, 'Start at'), from),
    valueField,
    h('div', { class: 'field' }, h('label', { for: 'events-count' }, 'Page size'), count),
    h('div', { class: 'field actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show events')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = viewHref('events', {
      partition: partition.value,
      from: from.value,
      ...(value.disabled || value.value === '' ? {} : { value: value.value.trim() }),
      count: count.value,
    });
  });
  const goTo = (sequence: number | null) => {
    if (sequence === null || !page) return;
    location.hash = viewHref('events', {
      partition: page.partitionId,
      from: 'sequence',
      value: sequence,
      count: count.value,
    });
  };
  older.addEventListener('click', () => goTo(page?.older ?? null));
  newer.addEventListener('click', () => goTo(page?.newer ?? null));

  const section = h(
    'section',
    { id: 'events', 'aria-labelledby': 'events-title' },
    h('h2', { id: 'events-title' }, 'Events'),
    form,
    h(
      'div',
      { class: 'pager' },
      older,
      newer,
      h(
        'span',
        { class: 'inline' },
        follow,
        h('label', { for: 'events-follow' }, 'Add new events as they arrive (on the newest page)'),
      ),
    ),
    summary,
    list,
  );

  const describe = (shown: EventPage) => {
    const { events, partition: p } = shown;
    const range = events.length
      ? `sequence numbers ${events[0].sequenceNumber} to ${events.at(-1)!.sequenceNumber}`
      : 'no events';
    const retained = p.isEmpty
      ? 'the partition is empty'
      : `retained: ${p.beginningSequenceNumber} to ${p.lastEnqueuedSequenceNumber}`;
    return `Partition ${shown.partitionId}: ${range} (${events.length} shown; ${retained}).`;
  };

  const load = async (params: URLSearchParams) => {
    const ids = state.overview?.partitionIds ?? [];
    replace(
      partition,
      ids.map((id) => h('option', { value: id }, id)),
    );
    partition.value = params.get('partition') ?? ids[0] ?? '';
    from.value = params.get('from') ?? 'latest';
    value.value = params.get('value') ?? '';
    count.value = params.get('count') ?? count.value;
    syncValueField();
    if (!partition.value) return;
    const query = new URLSearchParams({ from: from.value, count: count.value });
    if (!value.disabled && value.value) query.set('value', value.value);
    const mine = ++request;
    summary.textContent = `Loading partition ${partition.value}…`;
    try {
      const loaded = await getJson<EventPage>(
        `/api/partitions/${encodeURIComponent(partition.value)}/events?${query}`,
      );
      if (mine !== request) return;
      page = loaded;
      const highlight = Number(params.get('highlight') ?? NaN);
      replace(
        list,
        loaded.events.map((event) => eventItem(event, event.sequenceNumber === highlight)),
      );
      older.disabled = loaded.older === null;
      newer.disabled = loaded.newer === null;
      summary.textContent = describe(loaded);
      const target = list.querySelector<HTMLElement>(`[data-sequence="${highlight}"] summary`);
      target?.focus();
      target?.scrollIntoView({ block: 'center' });
    } catch (error) {
      if (mine !== request) return;
      page = undefined;
      replace(list);
      summary.textContent = `Could not read the partition: ${(error as Error).message}`;
    }
  };

  on('events', (events: EventView[]) => {
    if (!page || !follow.checked || page.newer !== null) return;
    const mine = events.filter((event) => event.partitionId === page!.partitionId);
    const known = new Set(page.events.map((event) => event.sequenceNumber));
    const fresh = mine.filter(
      (event) =>
        !known.has(event.sequenceNumber) &&
        event.sequenceNumber > (page!.events.at(-1)?.sequenceNumber ?? -1),
    );
    if (!fresh.length) return;
    page.events.push(...fresh);
    for (const event of fresh) list.appendChild(eventItem(event));
    const limit = Number(count.value) * 5;
    while (list.children.length > limit) list.firstElementChild?.remove();
    page.events = page.events.slice(-limit);
    page.partition.lastEnqueuedSequenceNumber = Math.max(
      page.partition.lastEnqueuedSequenceNumber,
      fresh.at(-1)!.sequenceNumber,
    );
    page.partition.isEmpty = false;
    page.older =
      page.events[0].sequenceNumber > page.partition.beginningSequenceNumber
        ? Math.max(
            page.partition.beginningSequenceNumber,
            page.events[0].sequenceNumber - Number(count.value),
          )
        : null;
    older.disabled = page.older === null;
    summary.textContent = describe(page);
  });

  return { id: 'events', title: 'Events', section, show: (params) => void load(params) };
}
