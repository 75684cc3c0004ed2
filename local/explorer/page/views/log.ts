// The consumer's structured lines from the host's output (EventProcessed, EventFailed,
// BatchProcessed, BatchFailed, ...), newest first, filtered by kind, partition and text, each
// linked to the event and the dead letter it names.
import type { LogEntry } from '../../api';
import { h, replace } from '../dom';
import { clock } from '../format';
import { on, state } from '../state';
import { viewHref, type View } from './view';

const KINDS = ['EventProcessed', 'EventFailed', 'BatchProcessed', 'BatchFailed'];
const MAX_ROWS = 300;

export function logView(): View {
  const kind = h(
    'select',
    { id: 'log-kind' },
    h('option', { value: '' }, 'All kinds'),
    KINDS.map((k) => h('option', { value: k }, k)),
  );
  const partition = h('select', { id: 'log-partition' }, h('option', { value: '' }, 'All partitions'));
  const text = h('input', {
    id: 'log-text',
    type: 'search',
    autocomplete: 'off',
    placeholder: 'body, error, blob…',
  });
  const count = h('p', { id: 'log-count', class: 'muted', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const notice = h('p', { class: 'notice', hidden: true });
  const filters = h(
    'form',
    {
      class: 'controls',
      'aria-label': 'Filter the log',
      onsubmit: ((event: Event) => event.preventDefault()) as EventListener,
    },
    h('div', { class: 'field' }, h('label', { for: 'log-kind' }, 'Kind'), kind),
    h('div', { class: 'field' }, h('label', { for: 'log-partition' }, 'Partition'), partition),
    h('div', { class: 'field grow' }, h('label', { for: 'log-text' }, 'Text'), text),
  );
  const section = h(
    'section',
    { id: 'log', 'aria-labelledby': 'log-title' },
    h('h2', { id: 'log-title' }, 'Live consumer log'),
    notice,
    filters,
    count,
    h(
      'table',
      { class: 'data log', id: 'log-table' },
      h('caption', {}, 'The consumer\u2019s lines, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Time (UTC)', 'Kind', 'Partition', 'Sequence', 'Details', 'Links'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      tbody,
    ),
  );

  const matches = (entry: LogEntry) =>
    (!kind.value || entry.kind === kind.value) &&
    (!partition.value || entry.fields.partitionId === partition.value) &&
    (!text.value || JSON.stringify(entry.fields).toLowerCase().includes(text.value.toLowerCase()));
  const rebuild = () => {
    const shown = state.log.filter(matches).slice(-MAX_ROWS).reverse();
    replace(tbody, shown.map(row));
    count.textContent = `${shown.length} of ${state.log.length} lines shown.`;
  };
  for (const control of [kind, partition]) control.addEventListener('change', rebuild);
  text.addEventListener('input', rebuild);

  on('log', (entries) => {
    for (const entry of entries) {
      if (entry.kind && !Array.from(kind.options).some((option) => option.value === entry.kind))
        kind.appendChild(h('option', { value: entry.kind }, entry.kind));
      if (!matches(entry)) continue;
      tbody.insertBefore(row(entry), tbody.firstChild);
    }
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild?.remove();
    count.textContent = `${tbody.rows.length} of ${state.log.length} lines shown.`;
  });

  return {
    id: 'log',
    title: 'Live log',
    section,
    show: (params) => {
      const ids = state.overview?.partitionIds ?? [];
      // An address with filters (#log?kind=EventFailed) sets all of them; a bare #log keeps the current ones.
      const linked = params.size > 0;
      const selected = linked ? (params.get('partition') ?? '') : partition.value;
      replace(
        partition,
        h('option', { value: '' }, 'All partitions'),
        ids.map((id) => h('option', { value: id }, id)),
      );
      partition.value = selected;
      if (linked) {
        kind.value = params.get('kind') ?? '';
        text.value = params.get('text') ?? '';
      }
      notice.hidden = state.overview?.logAvailable !== false;
      notice.textContent =
        'The host writes to the terminal directly (Core Tools): its lines do not reach the explorer.';
      rebuild();
    },
  };
}

function row(entry: LogEntry): HTMLTableRowElement {
  const f = entry.fields;
  const partitionId = typeof f.partitionId === 'string' ? f.partitionId : null;
  const sequence = typeof f.sequenceNumber === 'number' ? f.sequenceNumber : null;
  const range =
    typeof f.firstSequenceNumber === 'number'
      ? `${f.firstSequenceNumber}\u2013${f.lastSequenceNumber}`
      : sequence !== null
        ? String(sequence)
        : '-';
  const links: HTMLElement[] = [];
  if (partitionId !== null && sequence !== null) {
    links.push(
      h(
        'a',
        {
          href: viewHref('events', {
            partition: partitionId,
            from: 'sequence',
            value: sequence,
            highlight: sequence,
            count: 10,
          }),
        },
        `Event ${partitionId}/${sequence}`,
      ),
    );
  } else if (partitionId !== null && typeof f.firstSequenceNumber === 'number') {
    links.push(
      h(
        'a',
        {
          href: viewHref('events', {
            partition: partitionId,
            from: 'sequence',
            value: f.firstSequenceNumber,
            count: 20,
          }),
        },
        `Events ${partitionId}/${range}`,
      ),
    );
  }
  if (typeof f.deadLetterBlob === 'string') {
    links.push(h('a', { href: viewHref('dead-letters', { blob: f.deadLetterBlob }) }, 'Dead letter'));
  } else if (entry.kind === 'EventFailed') {
    links.push(h('span', { class: 'muted' }, 'no dead letter'));
  }
  return h(
    'tr',
    { class: `kind-${entry.kind}` },
    h('td', {}, h('time', { datetime: entry.time }, clock(entry.time))),
    h(
      'td',
      {},
      h('span', { class: `badge ${/Failed|Misaligned/.test(entry.kind) ? 'bad' : 'good'}` }, entry.kind),
    ),
    h('td', {}, partitionId ?? '-'),
    h('td', {}, range),
    h('td', { class: 'details' }, details(entry)),
    h(
      'td',
      { class: 'links' },
      links.flatMap((link, index) => (index ? [' ', link] : [link])),
    ),
  );
}

function details(entry: LogEntry): string {
  const f = entry.fields;
  const body =
    typeof f.body === 'string'
      ? `${f.bodyEncoding === 'base64' ? 'base64 ' : ''}${f.body.slice(0, 160)}${f.bodyTruncated || f.body.length > 160 ? '…' : ''}`
      : '';
  switch (entry.kind) {
    case 'EventProcessed':
      return `${body}${typeof f.lagMs === 'number' ? `  (lag ${f.lagMs} ms)` : ''}`;
    case 'EventFailed':
      return `Error: ${String(f.error)}. Body: ${body}`;
    case 'BatchProcessed':
      return `${plural(f.count, 'event')}, ${f.failed} failed${typeof f.maxLagMs === 'number' ? `, max lag ${f.maxLagMs} ms` : ''}`;
    case 'BatchFailed':
      return `${plural(f.count, 'event')}; retry ${f.retryCount ?? '-'} of ${f.maxRetryCount ?? '-'}. Error: ${String(f.error)}`;
    case 'ConsumerLag':
      return `lag ${plural(f.lagEvents, 'event')}, ${f.lagSeconds ?? '?'} s (checkpoint ${f.checkpointSequenceNumber ?? 'none'}, last enqueued ${f.lastEnqueuedSequenceNumber})`;
    default:
      return JSON.stringify(f);
  }
}

function plural(count: unknown, noun: string): string {
  return `${String(count)} ${noun}${count === 1 ? '' : 's'}`;
}
