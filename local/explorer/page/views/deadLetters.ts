// The app's dead letters (failed events kept as blobs) with their body and error; Replay publishes
// the event again and removes the blob once Event Hubs has it, Delete removes it (after a confirm).
// Both are the same operations as `npm run dead-letters`.
import type { ActionResult, DeadLetterView } from '../../api';
import { h, propertyTable, replace } from '../dom';
import { bodyPreview, utc } from '../format';
import { getJson, postJson } from '../http';
import { on } from '../state';
import { bodyBlock } from './eventItem';
import { viewHref, type View } from './view';

export function deadLettersView(): View {
  const list = h('ul', { id: 'dead-letter-list', class: 'dead-letters', 'aria-label': 'Dead letters' });
  const message = h('p', { id: 'dead-letters-status', role: 'status', 'aria-live': 'polite' });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const section = h(
    'section',
    { id: 'dead-letters', 'aria-labelledby': 'dead-letters-title' },
    h('h2', { id: 'dead-letters-title' }, 'Dead letters'),
    h(
      'p',
      { class: 'muted' },
      'Events the handler failed on, kept as blobs. Replay sends the exact event again (with x-replay-of) and deletes the blob after Event Hubs accepted it.',
    ),
    h('div', { class: 'pager' }, refresh),
    message,
    list,
  );
  let wanted: string | null = null;
  let loading: Promise<void> | undefined;

  const act = async (action: 'replay' | 'delete', letter: DeadLetterView, buttons: HTMLButtonElement[]) => {
    if (action === 'delete' && !confirm(`Delete the dead letter ${letter.blob}? The event is not replayed.`))
      return;
    for (const button of buttons) button.disabled = true;
    message.textContent = `${action === 'replay' ? 'Replaying' : 'Deleting'} ${letter.blob}…`;
    try {
      const result = await postJson<ActionResult>(`/api/dead-letters/${action}`, { blob: letter.blob });
      message.textContent = `${result.ok ? 'Done' : 'Not done'}: ${result.message}`;
    } catch (error) {
      message.textContent = `Failed: ${(error as Error).message}`;
    }
    await load();
  };

  const item = (letter: DeadLetterView) => {
    const replay = h('button', { type: 'button', class: 'primary' }, 'Replay');
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
    replay.setAttribute('aria-label', `Replay ${letter.blob}`);
    remove.setAttribute('aria-label', `Delete ${letter.blob}`);
    replay.addEventListener('click', () => void act('replay', letter, [replay, remove]));
    remove.addEventListener('click', () => void act('delete', letter, [replay, remove]));
    const where = letter.partitionId !== null && letter.sequenceNumber !== null;
    return h(
      'li',
      { class: 'dead-letter', 'data-blob': letter.blob },
      h(
        'details',
        { open: letter.blob === wanted },
        h(
          'summary',
          {},
          h('span', { class: 'seq' }, where ? `${letter.partitionId}/${letter.sequenceNumber}` : letter.blob),
          h('time', { datetime: letter.failedAtUtc ?? '' }, `failed ${utc(letter.failedAtUtc)}`),
          h('span', { class: 'badge bad' }, 'Failed'),
          h('code', { class: 'preview' }, letter.error),
        ),
        h(
          'div',
          { class: 'event-detail' },
          h('p', {}, h('strong', {}, 'Blob: '), h('code', {}, letter.blob)),
          h('p', {}, h('strong', {}, 'Error: '), letter.error),
          letter.body ? bodyBlock(letter.body, letter.contentType) : h('p', {}, 'Body: not stored'),
          h(
            'div',
            { class: 'property-tables' },
            propertyTable('Application properties', letter.properties),
            propertyTable('Coordinates', {
              partitionId: letter.partitionId,
              sequenceNumber: letter.sequenceNumber,
              enqueuedTimeUtc: letter.enqueuedTimeUtc,
              partitionKey: letter.partitionKey,
              contentType: letter.contentType,
            }),
          ),
          where &&
            h(
              'p',
              {},
              h(
                'a',
                {
                  href: viewHref('events', {
                    partition: letter.partitionId!,
                    from: 'sequence',
                    value: letter.sequenceNumber!,
                    highlight: letter.sequenceNumber!,
                    count: 10,
                  }),
                },
                'The original event in the hub',
              ),
            ),
        ),
      ),
      h(
        'div',
        { class: 'row-actions' },
        replay,
        remove,
        letter.body && h('span', { class: 'muted' }, bodyPreview(letter.body, 60)),
      ),
    );
  };

  // A listing asked for while one is in flight (after a delete, say) may not see what changed since
  // that one started: one more runs after it, and callers wait for that one.
  let queued: Promise<void> | undefined;
  const load = (): Promise<void> => {
    if (loading)
      return (queued ??= loading.then(() => {
        queued = undefined;
        return load();
      }));
    loading = (async () => {
      try {
        const letters = await getJson<DeadLetterView[]>('/api/dead-letters');
        replace(list, letters.map(item));
        if (!letters.length) message.textContent ||= 'No dead letters.';
        const target = wanted
          ? list.querySelector<HTMLElement>(`[data-blob="${CSS.escape(wanted)}"] summary`)
          : null;
        target?.focus();
        target?.scrollIntoView({ block: 'center' });
        wanted = null;
      } catch (error) {
        message.textContent = `Could not list the dead letters: ${(error as Error).message}`;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };
  refresh.addEventListener('click', () => {
    message.textContent = '';
    void load();
  });
  // A new failure may have written a dead letter: refresh the list if it is on screen.
  on('log', (entries) => {
    if (!section.hidden && entries.some((entry) => entry.kind === 'EventFailed')) void load();
  });
  return {
    id: 'dead-letters',
    title: 'Dead letters',
    section,
    show: (params) => {
      wanted = params.get('blob');
      void load();
    },
  };
}
