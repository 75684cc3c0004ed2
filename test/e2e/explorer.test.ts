// The explorer in a real browser (Debian's Chromium driven by playwright-core) against a running
// `npm start` stack (local/stack, as test/e2e/stack.test.ts starts it) on free ports: the hub and its
// partitions, an event sent through the form seen in the app's answer, the event list and the live
// log, new events appearing by themselves, a poison event's dead letter replayed from the page, the
// consumer group's checkpoints; every request the page made went to the explorer on 127.0.0.1; a
// cross-origin POST and a foreign Host header are refused and change nothing. Each view is saved as
// a screenshot in test/e2e/screenshots/explorer (git-ignored).
import { mkdirSync, rmSync } from 'node:fs';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import type { LogEntry, PartitionView } from '../../local/explorer/api';
import { waitFor } from '../support/waitFor';
import { type RunningStack, startStack } from '../../local/stack/stack';
import { launchBrowser, type Browser } from './support/browser';
import { freeStackPorts, stackFolder } from './support/stackFolder';

jest.setTimeout(180_000);

const SCREENSHOTS = path.join(__dirname, 'screenshots', 'explorer');
const WAIT_MS = 45_000;

let dir: string;
let stack: RunningStack;
let browser: Browser;
let page: Page;
let explorerUrl: string;
const output: string[] = [];
/** Requests of the explorer's page, and of every page in the browser (the test's attacker page too). */
const pageRequests: Request[] = [];
const allRequests: Request[] = [];

beforeAll(async () => {
  const ports = await freeStackPorts();
  dir = stackFolder(ports);
  stack = await startStack({
    appRoot: dir,
    port: 0,
    emulatorHealthPort: ports.health,
    emulatorTlsPort: 0,
    explorerPort: 0,
    print: (line) => output.push(line),
  });
  const printed = output.join('\n').match(/^Explorer: (http:\/\/127\.0\.0\.1:\d+\/)/m);
  if (!printed) throw new Error(`npm start printed no explorer URL:\n${output.join('\n')}`);
  explorerUrl = printed[1];
  browser = await launchBrowser();
  browser.context.on('request', (request) => allRequests.push(request));
  page = await browser.context.newPage();
  page.on('request', (request) => pageRequests.push(request));
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(hash: string): Promise<void> {
  await page.goto(`${explorerUrl}${hash}`);
  await page.locator('#status', { hasText: 'Event Hubs: connected' }).waitFor({ timeout: WAIT_MS });
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function marker(): string {
  return `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** A request from Node with exactly these headers (fetch would not let a test forge Host). */
function rawRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function retainedEvents(): Promise<number> {
  const host = new URL(explorerUrl).host;
  const answer = await rawRequest('GET', `${explorerUrl}api/partitions`, { host });
  return (JSON.parse(answer.body) as PartitionView[]).reduce(
    (sum, partition) => sum + partition.retainedEvents,
    0,
  );
}

test('npm start prints the explorer URL; the page shows hub events and its partitions', async () => {
  expect(output.join('\n')).toMatch(/^Explorer: http:\/\/127\.0\.0\.1:\d+\/ {2}\(events, send/m);
  await open('#hub');
  await page.locator('#hub-name', { hasText: 'events on localhost' }).waitFor({ timeout: WAIT_MS });
  await page.locator('#partitions tbody tr').nth(3).waitFor({ timeout: WAIT_MS });
  const ids = await page.locator('#partitions tbody th').allTextContents();
  expect(ids).toEqual(['0', '1', '2', '3']);
  expect(await page.locator('.facts').textContent()).toContain("App's consumer groupprocessor");
  expect(await page.locator('.chart .chart-row').count()).toBe(4);
  await screenshot('hub');
});

test('an event sent through the form: the app answers 202, and it is in the event list and the live log', async () => {
  const id = marker();
  await open('#send');
  await page.fill('#send-body', JSON.stringify({ marker: id, temperature: 21.5 }));
  await page.check('#send-route-id');
  await page.selectOption('#send-partition-id', '1');
  await page.fill('#send-properties', '{"source":"explorer-test"}');
  await page.click('#send-form button[type=submit]');
  await page.locator('#send-result', { hasText: 'Accepted: 202 Accepted' }).waitFor({ timeout: WAIT_MS });
  expect(await page.locator('#send-result pre').textContent()).toContain('"partitionId": "1"');
  await screenshot('send');

  // The app's own validation, shown as it answered.
  await page.fill('#send-body', '{"broken":');
  await page.click('#send-form button[type=submit]');
  await page.locator('#send-result', { hasText: 'Refused: 400' }).waitFor({ timeout: WAIT_MS });
  expect(await page.locator('#send-result pre').textContent()).toContain('invalid_json');

  await open('#events?partition=1&from=latest');
  const item = page.locator('#event-list li.event', { hasText: id });
  await item.waitFor({ timeout: WAIT_MS });
  await item.locator('summary').click();
  const detail = await item.locator('.event-detail').textContent();
  expect(detail).toContain(`"marker": "${id}"`);
  expect(detail).toContain('"explorer-test"');
  expect(detail).toContain('application/json');
  await screenshot('events');

  await open(`#log?text=${id}`);
  const row = page.locator('#log-table tbody tr', { hasText: 'EventProcessed' }).filter({ hasText: id });
  await row.waitFor({ timeout: WAIT_MS });
  await screenshot('log');
  // The line links to its event.
  await row.locator('a', { hasText: 'Event 1/' }).click();
  await page.locator('#event-list li.event details[open]', { hasText: id }).waitFor({ timeout: WAIT_MS });
});

test('new events appear in the list and the log by themselves', async () => {
  const publish = async (id: string) => {
    const response = await fetch(`${stack.url}/api/events?partitionId=3`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `live ${id}`,
    });
    expect(response.status).toBe(202);
  };
  await open('#events?partition=3&from=latest');
  await page.locator('#events-summary', { hasText: 'Partition 3' }).waitFor({ timeout: WAIT_MS });
  const first = marker();
  await publish(first);
  await page.locator('#event-list li.event', { hasText: first }).waitFor({ timeout: WAIT_MS });

  await open('#log?partition=3&text=live');
  await page.locator('#log-table tbody tr', { hasText: first }).waitFor({ timeout: WAIT_MS });
  const second = marker();
  await publish(second);
  await page.locator('#log-table tbody tr', { hasText: second }).waitFor({ timeout: WAIT_MS });
});

test('a poison event sent from the page is dead-lettered; the page replays its dead letter, then deletes the next', async () => {
  const id = marker();
  await open('#send');
  await page.fill('#send-body', JSON.stringify({ poisonMarker: id }));
  await page.check('#send-route-id');
  await page.selectOption('#send-partition-id', '2');
  await page.fill('#send-properties', '{"poison":true}');
  await page.click('#send-form button[type=submit]');
  await page.locator('#send-result', { hasText: 'Accepted: 202' }).waitFor({ timeout: WAIT_MS });

  // The live log names the failure and links to its dead letter.
  await open(`#log?kind=EventFailed&text=${id}`);
  const failed = page.locator('#log-table tbody tr', { hasText: id });
  await failed.waitFor({ timeout: WAIT_MS });
  await failed.locator('a', { hasText: 'Dead letter' }).click();
  const letter = page.locator('#dead-letter-list li.dead-letter', { hasText: id });
  await letter.locator('details[open]').waitFor({ timeout: WAIT_MS });
  const blob = await letter.getAttribute('data-blob');
  expect(blob).toMatch(/^dead-letter-events\/events\/processor\/2\/\d+\.json$/);
  const originalSequence = Number(/(\d+)\.json$/.exec(blob!)![1]);
  const detail = await letter.textContent();
  expect(detail).toContain('event is marked as poison');
  expect(detail).toContain(`"poisonMarker": "${id}"`);
  await screenshot('dead-letters');

  // Replay: the same operation as npm run dead-letters -- replay (the blob goes once Event Hubs has the event).
  await letter.locator('button', { hasText: 'Replay' }).click();
  await page
    .locator('#dead-letters-status', { hasText: 'replayed as a new event with x-replay-of' })
    .waitFor({ timeout: WAIT_MS });
  await page
    .locator(`#dead-letter-list li[data-blob="${blob}"]`)
    .waitFor({ state: 'detached', timeout: WAIT_MS });

  // The sample handler fails the replay too (it still carries poison=true): its line names the
  // original, and it leaves a dead letter of its own, which the page deletes.
  const host = new URL(explorerUrl).host;
  const replayed = await waitFor(
    async () => {
      const entries = JSON.parse(
        (await rawRequest('GET', `${explorerUrl}api/log`, { host })).body,
      ) as LogEntry[];
      return entries.find(
        (entry) =>
          entry.kind === 'EventFailed' &&
          String(entry.fields.body).includes(id) &&
          (entry.fields.properties as Record<string, unknown>)['x-replay-of'] === `2/${originalSequence}`,
      );
    },
    { what: 'the EventFailed line of the replayed event', timeoutMs: WAIT_MS },
  );
  const second = String(replayed.fields.deadLetterBlob);
  await open(`#dead-letters?blob=${encodeURIComponent(second)}`);
  const next = page.locator(`#dead-letter-list li[data-blob="${second}"]`);
  await next.waitFor({ timeout: WAIT_MS });
  page.once('dialog', (dialog) => void dialog.accept());
  await next.locator('button', { hasText: 'Delete' }).click();
  await page.locator('#dead-letters-status', { hasText: `${second} deleted` }).waitFor({ timeout: WAIT_MS });
  await next.waitFor({ state: 'detached', timeout: WAIT_MS });
});

test("the consumer groups view shows each partition's checkpoint, owner and lag", async () => {
  await open('#consumers');
  const partition1 = page.locator('#checkpoints tbody tr[data-partition="1"]');
  // Earlier tests sent events to partition 1; the host has checkpointed them and owns the partition.
  await page
    .locator('#checkpoints tbody tr[data-partition="1"] td', { hasText: 'caught up' })
    .waitFor({ timeout: WAIT_MS });
  expect(await page.locator('#checkpoints tbody tr').count()).toBe(4);
  expect(await page.locator('#checkpoints caption').textContent()).toContain('Consumer group processor');
  const cells = await partition1.locator('td').allTextContents();
  expect(Number(cells[0])).toBeGreaterThanOrEqual(0);
  expect(cells[3]).toMatch(/:processEvents$/);
  await screenshot('consumers');
});

test('keyboard only: every view is reached from the navigation, an event opens, the form sends; every control is labelled', async () => {
  await open('#hub');
  for (const view of ['Events', 'Send', 'Consumer groups', 'Dead letters', 'Live log', 'Hub']) {
    await page.locator(`nav a:text-is("${view}")`).focus();
    await page.keyboard.press('Enter');
    await page.locator(`nav a[aria-current=page]:text-is("${view}")`).waitFor({ timeout: WAIT_MS });
  }
  // Form controls by a <label> or aria-label, buttons by their text: nothing is known by its looks alone.
  // (Page code as text: this test is type-checked without the DOM library.)
  const unlabelled = await page.evaluate<string[]>(`
    Array.from(document.querySelectorAll('input, select, textarea, button'))
      .filter((control) =>
        control.tagName === 'BUTTON'
          ? !control.textContent.trim() && !control.getAttribute('aria-label')
          : !(control.labels.length || control.getAttribute('aria-label')))
      .map((control) => control.outerHTML.slice(0, 120))`);
  expect(unlabelled).toEqual([]);

  await open('#events?partition=1&from=earliest');
  const summary = page.locator('#event-list li.event summary').first();
  await summary.waitFor({ timeout: WAIT_MS });
  await summary.focus();
  await page.keyboard.press('Enter');
  await page
    .locator('#event-list li.event details[open] .event-detail')
    .first()
    .waitFor({ timeout: WAIT_MS });

  await open('#send');
  const id = marker();
  await page.locator('#send-body').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(`{"keyboard":"${id}"}`);
  await page.locator('#send-form button[type=submit]').focus();
  await page.keyboard.press('Enter');
  await page.locator('#send-result', { hasText: 'Accepted: 202' }).waitFor({ timeout: WAIT_MS });
});

test('a cross-origin POST from another page and a foreign Host header are refused with 403 and change nothing', async () => {
  const before = await retainedEvents();
  const explorer = new URL(explorerUrl);

  // A page on another origin (another port of 127.0.0.1) that tries to send through the explorer: a
  // simple no-cors fetch (no preflight) and a form post, both of which a browser does send.
  const target = `${explorerUrl}api/send`;
  const payload = JSON.stringify({ contentType: 'text/plain', body: 'forged', partitionId: '0' });
  const attacker: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!doctype html><form id="f" method="post" enctype="text/plain" action="${target}">
      <input name='${payload.slice(0, -2)}' value='"}'></form>
      <script>fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(payload)} })
        .finally(() => document.getElementById('f').submit());</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
  const other = await browser.context.newPage();
  const sent: string[] = [];
  other.on('request', (request) => {
    if (request.url() === target) sent.push(request.method());
  });
  try {
    const formAnswer = other.waitForResponse(
      (response) => response.url() === target && response.request().method() === 'POST',
      {
        timeout: WAIT_MS,
      },
    );
    await other.goto(attackerUrl);
    // The fetch's answer is hidden from the page (and so from the test): the browser did send it, and
    // the form's answer, which the browser shows, is the explorer's refusal.
    expect((await formAnswer).status()).toBe(403);
    await other
      .locator('body', { hasText: 'cross-site requests change nothing' })
      .waitFor({ timeout: WAIT_MS });
    expect(sent).toEqual(['POST', 'POST']);
  } finally {
    await other.close();
    attacker.closeAllConnections();
    await new Promise((resolve) => attacker.close(resolve));
  }

  // DNS rebinding: the attacker's name resolving to 127.0.0.1 arrives with its own Host.
  for (const host of [
    'attacker.example',
    `attacker.example:${explorer.port}`,
    `127.0.0.1:${Number(explorer.port) + 1}`,
  ]) {
    expect((await rawRequest('GET', `${explorerUrl}api/overview`, { host })).status).toBe(403);
    expect((await rawRequest('GET', explorerUrl, { host })).status).toBe(403);
    const forged = await rawRequest(
      'POST',
      target,
      { host, origin: `http://${host}`, 'content-type': 'application/json' },
      payload,
    );
    expect(forged.status).toBe(403);
  }
  // A forged Origin on the right Host.
  const crossSite = await rawRequest(
    'POST',
    target,
    { host: explorer.host, origin: 'http://attacker.example', 'content-type': 'application/json' },
    payload,
  );
  expect(crossSite).toMatchObject({
    status: 403,
    body: expect.stringContaining('cross-site requests change nothing'),
  });

  expect(await retainedEvents()).toBe(before);
});

test('every request the page made went to the explorer on 127.0.0.1', () => {
  const explorerOrigin = new URL(explorerUrl).origin;
  expect(pageRequests.length).toBeGreaterThan(10);
  const elsewhere = pageRequests
    .map((request) => request.url())
    .filter((url) => new URL(url).origin !== explorerOrigin);
  expect(elsewhere).toEqual([]);
  // The test's own attacker page lives on 127.0.0.1 too: nothing at all left this machine.
  expect(
    allRequests.map((request) => new URL(request.url()).hostname).filter((host) => host !== '127.0.0.1'),
  ).toEqual([]);
});
