// Each consumer group's checkpoint, owner and lag per partition, as the host keeps them in storage
// (azure-webjobs-eventhub/<namespace>/<hub>/<group>/checkpoint|ownership/<partition>), live.
import type { CheckpointView } from '../../api';
import { h, replace } from '../dom';
import { utc } from '../format';
import { getJson } from '../http';
import { on } from '../state';
import type { View } from './view';

export function consumersView(): View {
  const content = h('div', { id: 'consumer-groups' });
  const message = h('p', { id: 'consumers-status', role: 'status' });
  const section = h(
    'section',
    { id: 'consumers', 'aria-labelledby': 'consumers-title' },
    h('h2', { id: 'consumers-title' }, 'Consumer groups'),
    h(
      'p',
      { class: 'muted' },
      'Checkpoints and ownership as the Functions host stores them; lag is the events enqueued after the checkpoint.',
    ),
    message,
    content,
  );
  const render = (rows: CheckpointView[]) => {
    const groups = new Map<string, CheckpointView[]>();
    for (const row of rows) groups.set(row.consumerGroup, [...(groups.get(row.consumerGroup) ?? []), row]);
    message.textContent = groups.size ? '' : 'No checkpoints yet: the consumer has not finished a batch.';
    replace(
      content,
      Array.from(groups, ([group, partitions]) =>
        h(
          'table',
          { class: 'data', 'data-consumer-group': group },
          h('caption', {}, `Consumer group ${group}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [
                'Partition',
                'Checkpoint sequence number',
                'Checkpoint offset',
                'Checkpoint written',
                'Owner',
                'Ownership',
                'Last enqueued',
                'Lag (events)',
              ].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            partitions.map((row) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, row.partitionId),
                h('td', {}, row.checkpoint?.sequenceNumber ?? 'none'),
                h('td', {}, row.checkpoint?.offset ?? '-'),
                h('td', {}, utc(row.checkpoint?.lastModified)),
                h('td', {}, row.owner?.ownerId || 'none'),
                h(
                  'td',
                  {},
                  row.owner
                    ? `${row.owner.expired ? 'expired' : 'active'} (renewed ${utc(row.owner.lastModified)})`
                    : 'unowned',
                ),
                h('td', {}, row.lastEnqueuedSequenceNumber ?? '-'),
                h(
                  'td',
                  {},
                  h(
                    'span',
                    { class: `badge ${row.lagEvents ? 'warn' : 'good'}` },
                    row.lagEvents === null
                      ? 'unknown'
                      : row.lagEvents === 0
                        ? '0 (caught up)'
                        : String(row.lagEvents),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };
  on('checkpoints', render);
  return {
    id: 'consumers',
    title: 'Consumer groups',
    section,
    show: async () => {
      try {
        render(await getJson<CheckpointView[]>('/api/checkpoints'));
      } catch (error) {
        message.textContent = `Could not read the checkpoints: ${(error as Error).message}`;
      }
    },
  };
}
