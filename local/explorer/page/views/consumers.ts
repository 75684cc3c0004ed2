// The app's consumer group per partition: checkpoint, owner and lag, as `npm run checkpoints -- show`
// reads them from the host's blobs (azure-webjobs-eventhub/<namespace>/<hub>/<group>/...), refreshed
// every few seconds while the view is shown.
import type { CheckpointView } from '../../api';
import { h, replace } from '../dom';
import { utc } from '../format';
import { getJson } from '../http';
import type { View } from './view';

const REFRESH_MS = 3_000;

export function consumersView(): View {
  const tbody = h('tbody');
  const caption = h('caption', {}, 'Consumer group');
  const message = h('p', { id: 'consumers-status', role: 'status' });
  const table = h(
    'table',
    { class: 'data', id: 'checkpoints' },
    caption,
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
          'Checkpointed event enqueued',
          'Owner',
          'Last enqueued',
          'Lag',
        ].map((title) => h('th', { scope: 'col' }, title)),
      ),
    ),
    tbody,
  );
  const section = h(
    'section',
    { id: 'consumers', 'aria-labelledby': 'consumers-title' },
    h('h2', { id: 'consumers-title' }, 'Consumer groups'),
    h(
      'p',
      { class: 'muted' },
      'Checkpoints and ownership as the Functions host stores them (the same reading as npm run checkpoints -- show). ' +
        'Lag counts the retained events after the checkpoint; its age is how long the oldest of them has waited.',
    ),
    message,
    table,
  );
  const render = (rows: CheckpointView[]) => {
    caption.textContent = `Consumer group ${rows[0]?.consumerGroup ?? ''} (refreshed every ${REFRESH_MS / 1000} s)`;
    message.textContent = rows.some((row) => row.checkpointSequenceNumber !== null)
      ? ''
      : 'No checkpoint yet: the consumer has not finished a batch.';
    replace(
      tbody,
      rows.map((row) =>
        h(
          'tr',
          { 'data-partition': row.partitionId },
          h('th', { scope: 'row' }, row.partitionId),
          h('td', {}, row.checkpointSequenceNumber ?? 'none'),
          h('td', {}, row.checkpointOffset ?? '-'),
          h('td', {}, utc(row.checkpointEnqueuedTimeUtc)),
          h('td', {}, row.ownerId ?? 'none (no host owns it now)'),
          h(
            'td',
            {},
            row.lastEnqueuedSequenceNumber < 0
              ? 'empty'
              : `${row.lastEnqueuedSequenceNumber} at ${utc(row.lastEnqueuedTimeUtc)}`,
          ),
          h(
            'td',
            {},
            h(
              'span',
              { class: `badge ${row.lagEvents === 0 ? 'good' : 'warn'}` },
              row.lagEvents === 0
                ? 'caught up'
                : `${row.lagEvents} behind${row.lagSeconds === null ? '' : `, oldest ${row.lagSeconds.toFixed(1)} s`}`,
            ),
          ),
        ),
      ),
    );
  };
  let timer: number | undefined;
  const refresh = async () => {
    window.clearTimeout(timer);
    if (section.hidden) return;
    try {
      render(await getJson<CheckpointView[]>('/api/checkpoints'));
    } catch (error) {
      message.textContent = `Could not read the checkpoints: ${(error as Error).message}`;
    }
    if (!section.hidden) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  };
  return { id: 'consumers', title: 'Consumer groups', section, show: () => void refresh() };
}
