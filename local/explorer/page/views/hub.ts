// The hub at a glance: namespace, hub, consumer groups, each partition's first and last sequence
// numbers, retained events and last enqueued time, and the per-partition chart.
import { renderChart } from '../chart';
import { h, replace } from '../dom';
import { utc } from '../format';
import { on, state } from '../state';
import { keyedRows, viewHref, type View } from './view';

export function hubView(): View {
  const facts = h('dl', { class: 'facts' });
  const tbody = h('tbody');
  const chart = h('div', { class: 'chart-area' });
  const section = h(
    'section',
    { id: 'hub', 'aria-labelledby': 'hub-title' },
    h('h2', { id: 'hub-title' }, 'Hub and partitions'),
    facts,
    h(
      'table',
      { class: 'data', id: 'partitions' },
      h('caption', {}, 'Partitions (updated every second)'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'Partition',
            'First sequence number',
            'Last sequence number',
            'Retained events',
            'Last offset',
            'Last enqueued',
            'Events',
          ].map((title) => h('th', { scope: 'col' }, title)),
        ),
      ),
      tbody,
    ),
    chart,
  );
  const renderFacts = () => {
    const overview = state.overview;
    if (!overview) return;
    const fact = (name: string, value: string, note?: string, wide = false) =>
      h(
        'div',
        { class: wide ? 'wide' : null },
        h('dt', {}, name),
        h('dd', {}, value, note && h('span', { class: 'note' }, note)),
      );
    replace(
      facts,
      fact('Event hub', overview.eventHubName),
      fact('Namespace', overview.namespace),
      fact('Partitions', String(overview.partitionIds.length)),
      fact('Created', utc(overview.createdOn)),
      fact("App's consumer group", overview.consumerGroup),
      fact('Explorer reads with', overview.explorerConsumerGroup, "never the app's group"),
      fact('Publish endpoint', `POST ${overview.publishUrl}`, undefined, true),
    );
  };
  const renderPartitions = () =>
    keyedRows(
      tbody,
      state.partitions,
      (partition) => partition.partitionId,
      (partition) => [
        partition.partitionId,
        partition.isEmpty ? 'empty' : String(partition.beginningSequenceNumber),
        partition.isEmpty ? 'empty' : String(partition.lastEnqueuedSequenceNumber),
        String(partition.retainedEvents),
        partition.isEmpty ? '-' : partition.lastEnqueuedOffset,
        utc(partition.lastEnqueuedOnUtc),
      ],
      (partition) => [
        h(
          'a',
          { href: viewHref('events', { partition: partition.partitionId, from: 'latest' }) },
          `Browse partition ${partition.partitionId}`,
        ),
      ],
    );
  const renderChartArea = () =>
    replace(chart, renderChart(state.metrics, state.overview?.partitionIds ?? []));
  on('partitions', renderPartitions);
  on('metrics', renderChartArea);
  return {
    id: 'hub',
    title: 'Hub',
    section,
    show: () => {
      renderFacts();
      renderPartitions();
      renderChartArea();
    },
  };
}
