// The send form: what curl would send to the app's POST /api/events (content type, body, partition
// key or id, x-event-properties), sent through the explorer, and the app's answer exactly as it came.
import type { SendRequest, SendResult } from '../../api';
import { h, propertyTable, replace } from '../dom';
import { prettyJson } from '../format';
import { postJson } from '../http';
import { state } from '../state';
import type { View } from './view';

const CONTENT_TYPES = ['application/json', 'application/x-ndjson', 'text/plain', 'application/octet-stream'];

export function sendView(): View {
  const contentType = h('input', {
    id: 'send-content-type',
    name: 'contentType',
    list: 'content-types',
    value: 'application/json',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const types = h(
    'datalist',
    { id: 'content-types' },
    CONTENT_TYPES.map((type) => h('option', { value: type })),
  );
  const body = h(
    'textarea',
    { id: 'send-body', name: 'body', rows: 8, spellcheck: 'false' },
    '{"id": 1, "temperature": 21.5}',
  );
  const encodingText = h('input', {
    type: 'radio',
    name: 'bodyEncoding',
    id: 'send-encoding-text',
    value: 'text',
    checked: true,
  });
  const encodingHex = h('input', {
    type: 'radio',
    name: 'bodyEncoding',
    id: 'send-encoding-hex',
    value: 'hex',
  });
  const routeNone = h('input', {
    type: 'radio',
    name: 'routing',
    id: 'send-route-none',
    value: 'none',
    checked: true,
  });
  const routeKey = h('input', { type: 'radio', name: 'routing', id: 'send-route-key', value: 'key' });
  const routeId = h('input', { type: 'radio', name: 'routing', id: 'send-route-id', value: 'id' });
  const partitionKey = h('input', {
    id: 'send-partition-key',
    name: 'partitionKey',
    autocomplete: 'off',
    'aria-label': 'Partition key value',
  });
  const partitionId = h('select', {
    id: 'send-partition-id',
    name: 'partitionId',
    'aria-label': 'Partition id value',
  });
  const properties = h('textarea', {
    id: 'send-properties',
    name: 'properties',
    rows: 2,
    spellcheck: 'false',
    placeholder: '{"source":"sensor-1","poison":true}',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Send to POST /api/events');
  const result = h(
    'div',
    { id: 'send-result', class: 'result', role: 'status', 'aria-live': 'polite' },
    h('p', { class: 'muted' }, 'Nothing sent yet.'),
  );
  const syncRouting = () => {
    partitionKey.disabled = !routeKey.checked;
    partitionId.disabled = !routeId.checked;
  };
  for (const radio of [routeNone, routeKey, routeId]) radio.addEventListener('change', syncRouting);
  syncRouting();

  const form = h(
    'form',
    { id: 'send-form', class: 'send', 'aria-describedby': 'send-help' },
    h(
      'p',
      { id: 'send-help', class: 'muted' },
      'Posts to the app itself, as curl would; the app decides what is valid and this shows its answer.',
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'send-content-type' }, 'Content-Type'),
      contentType,
      types,
    ),
    h('div', { class: 'field wide' }, h('label', { for: 'send-body' }, 'Body'), body),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Body is'),
      h(
        'span',
        { class: 'inline' },
        encodingText,
        h('label', { for: 'send-encoding-text' }, 'text (sent as UTF-8)'),
      ),
      h(
        'span',
        { class: 'inline' },
        encodingHex,
        h('label', { for: 'send-encoding-hex' }, 'hex digits (sent as those bytes)'),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Routing'),
      h(
        'span',
        { class: 'inline' },
        routeNone,
        h('label', { for: 'send-route-none' }, 'Event Hubs spreads the events'),
      ),
      h(
        'span',
        { class: 'inline' },
        routeKey,
        h('label', { for: 'send-route-key' }, 'Partition key'),
        partitionKey,
      ),
      h(
        'span',
        { class: 'inline' },
        routeId,
        h('label', { for: 'send-route-id' }, 'Partition id'),
        partitionId,
      ),
    ),
    h(
      'div',
      { class: 'field wide' },
      h('label', { for: 'send-properties' }, 'x-event-properties (JSON object, optional)'),
      properties,
    ),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const request: SendRequest = {
      contentType: contentType.value.trim(),
      body: body.value,
      bodyEncoding: encodingHex.checked ? 'hex' : 'text',
      partitionKey: routeKey.checked ? partitionKey.value : undefined,
      partitionId: routeId.checked ? partitionId.value : undefined,
      properties: properties.value.trim() || undefined,
    };
    submit.disabled = true;
    replace(result, h('p', {}, 'Sending…'));
    try {
      showAnswer(result, await postJson<SendResult>('/api/send', request));
    } catch (error) {
      replace(
        result,
        h('p', { class: 'outcome failed' }, h('strong', {}, 'Not sent: '), (error as Error).message),
      );
    } finally {
      submit.disabled = false;
    }
  });

  const section = h(
    'section',
    { id: 'send', 'aria-labelledby': 'send-title' },
    h('h2', { id: 'send-title' }, 'Send events'),
    h('div', { class: 'send-layout' }, form, h('div', {}, h('h3', {}, "The app's answer"), result)),
  );
  return {
    id: 'send',
    title: 'Send',
    section,
    show: () => {
      const selected = partitionId.value;
      replace(
        partitionId,
        (state.overview?.partitionIds ?? []).map((id) => h('option', { value: id }, id)),
      );
      if (selected) partitionId.value = selected;
    },
  };
}

function showAnswer(result: HTMLElement, sent: SendResult): void {
  const { status, statusText, headers, body } = sent.response;
  const accepted = status >= 200 && status < 300;
  const verdict = accepted ? 'Accepted' : status >= 500 ? 'Failed' : 'Refused';
  const query = new URL(sent.request.url).search;
  replace(
    result,
    h(
      'p',
      { class: `outcome ${accepted ? 'ok' : 'failed'}` },
      h('strong', {}, `${verdict}: ${status} ${statusText}`),
      ` (POST /api/events${query}, ${sent.request.bodyBytes} bytes)`,
    ),
    propertyTable('Response headers', headers, true),
    h('pre', { class: 'answer', tabindex: 0 }, prettyJson(body) ?? (body || '(empty body)')),
  );
}
