// The explorer's page: loads the hub's overview, opens the live stream (/api/stream) and shows one
// view at a time by the address (#hub, #events?partition=1..., #send, #consumers, #dead-letters,
// #log), so every view can be linked, bookmarked and reached with Back.
import type { LogEntry, MetricsSample, Overview, StreamMessages } from '../api';
import { byId, h, replace } from './dom';
import { getJson } from './http';
import { addLogEntries, addSample, emit, on, state } from './state';
import { consumersView } from './views/consumers';
import { deadLettersView } from './views/deadLetters';
import { eventsView } from './views/events';
import { hubView } from './views/hub';
import { logView } from './views/log';
import { sendView } from './views/send';
import type { View } from './views/view';

const views: View[] = [hubView(), eventsView(), sendView(), consumersView(), deadLettersView(), logView()];

function route(): void {
  const [id, query] = location.hash.replace(/^#/, '').split('?');
  const view = views.find((candidate) => candidate.id === id) ?? views[0];
  for (const candidate of views) candidate.section.hidden = candidate !== view;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (link.dataset.view === view.id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${view.title} - Event Hubs explorer`;
  view.show(new URLSearchParams(query ?? ''));
}

function renderStatus(): void {
  const hubs = state.status.eventHubs;
  replace(
    byId('status'),
    h('span', { class: `badge ${hubs.ok ? 'good' : 'bad'}` }, `Event Hubs: ${hubs.message}`),
    ' ',
    h(
      'span',
      { class: `badge ${state.streamConnected ? 'good' : 'warn'}` },
      state.streamConnected ? 'Live updates: on' : 'Live updates: reconnecting',
    ),
  );
}

function connectStream(): void {
  const source = new EventSource('/api/stream');
  const listen = <K extends keyof StreamMessages>(name: K, handle: (value: StreamMessages[K]) => void) =>
    source.addEventListener(name, (message) => {
      const value = JSON.parse((message as MessageEvent<string>).data) as StreamMessages[K];
      handle(value);
      emit(name, value as never);
    });
  listen('log', (entries) => addLogEntries(entries));
  listen('metrics', (sample) => addSample(sample));
  listen('partitions', (partitions) => (state.partitions = partitions));
  listen('status', (status) => (state.status = status));
  listen('events', () => undefined);
  source.addEventListener('open', () => {
    state.streamConnected = true;
    emit('stream', true);
  });
  source.addEventListener('error', () => {
    state.streamConnected = false;
    emit('stream', false);
  });
}

async function start(): Promise<void> {
  const nav = byId('views');
  replace(
    nav,
    views.map((view) => h('li', {}, h('a', { href: `#${view.id}`, 'data-view': view.id }, view.title))),
  );
  const main = byId('main');
  // The skip link focuses the view without changing the address (which names the view).
  document.querySelector('.skip')?.addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  for (const view of views) {
    view.section.hidden = true;
    main.appendChild(view.section);
  }
  on('status', renderStatus);
  on('stream', renderStatus);
  renderStatus();
  try {
    state.overview = await getJson<Overview>('/api/overview');
    const overview = state.overview;
    byId('hub-name').textContent = `${overview.eventHubName} on ${overview.namespace}`;
  } catch (error) {
    byId('hub-name').textContent = `Event Hubs could not be read: ${(error as Error).message}`;
  }
  const [log, metrics] = await Promise.all([
    getJson<LogEntry[]>('/api/log'),
    getJson<MetricsSample[]>('/api/metrics'),
  ]);
  addLogEntries(log);
  for (const sample of metrics) addSample(sample);
  state.partitions = (await getJson('/api/partitions').catch(() => [])) as typeof state.partitions;
  connectStream();
  window.addEventListener('hashchange', route);
  route();
}

void start();
