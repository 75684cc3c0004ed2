// infra/modules/alerts.bicep, evaluated by the real Bicep compiler (`bicep snapshot` of main.bicepparam):
// no alert without a receiver; with ALERT_EMAIL, an action group mailing it and two log alerts on the
// Application Insights component, whose queries read fields the consumer's lines really carry.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { batchFailedLine, consumerLagLine, eventFailedLine } from '../../src/lib/consume/eventLog';
import { predicted, single, type Json } from './support/arm';
import { copyInfra, findBicep, runBicep } from './support/bicep';

const compiler = findBicep();
const describeCompiled = compiler === undefined ? describe.skip : describe;
// Without a compiler test/infra/templates.test.ts reports it (and fails on CI).

function snapshot(env: Record<string, string>): Json {
  const work = copyInfra();
  const run = runBicep(
    compiler!,
    [
      'snapshot',
      'main.bicepparam',
      '--subscription-id',
      '00000000-0000-0000-0000-00000000aaaa',
      '--tenant-id',
      '00000000-0000-0000-0000-00000000bbbb',
      '--resource-group',
      'rg-demo',
      '--location',
      'swedencentral',
    ],
    { cwd: work, env: { NAME_PREFIX: 'demo', DEVELOPER_PRINCIPAL_ID: '', ...env } },
  );
  if (run.status !== 0) throw new Error(`bicep snapshot failed:\n${run.stderr}`);
  const result = JSON.parse(readFileSync(path.join(work, 'main.snapshot.json'), 'utf8'));
  expect(result.diagnostics).toEqual([]);
  return result;
}

/** The JSON after `<Kind> ` of a real line, as the rule's parse_json(substring(...)) reads it. */
function fieldsOf(line: string): string[] {
  return Object.keys(JSON.parse(line.slice(line.indexOf(' ') + 1)));
}

describeCompiled('alerts (infra/modules/alerts.bicep)', () => {
  let withEmail: Json;
  let withoutEmail: Json;

  beforeAll(() => {
    withEmail = snapshot({ ALERT_EMAIL: 'ops@example.com' });
    withoutEmail = snapshot({});
  }, 180_000);

  test('without ALERT_EMAIL there is no action group and no alert rule', () => {
    expect(predicted(withoutEmail, 'Microsoft.Insights/actionGroups')).toEqual([]);
    expect(predicted(withoutEmail, 'Microsoft.Insights/scheduledQueryRules')).toEqual([]);
  });

  test('with it, one enabled action group mails that address (common alert schema)', () => {
    const group = single(withEmail, 'Microsoft.Insights/actionGroups');
    expect(group.location).toBe('global');
    expect(group.properties.enabled).toBe(true);
    expect(group.properties.groupShortName.length).toBeLessThanOrEqual(12);
    expect(group.properties.emailReceivers).toEqual([
      { name: 'operator', emailAddress: 'ops@example.com', useCommonAlertSchema: true },
    ]);
  });

  test('two log alerts query the Application Insights component and notify the action group', () => {
    const rules = predicted(withEmail, 'Microsoft.Insights/scheduledQueryRules');
    const appInsights = single(withEmail, 'Microsoft.Insights/components');
    const group = single(withEmail, 'Microsoft.Insights/actionGroups');
    expect(rules.map((rule) => rule.name).sort()).toEqual([
      'alert-demo-consumer-failures',
      'alert-demo-consumer-lag',
    ]);
    for (const rule of rules) {
      expect(rule).toMatchObject({ kind: 'LogAlert', location: 'swedencentral' });
      expect(rule.properties).toMatchObject({
        enabled: true,
        scopes: [appInsights.id],
        evaluationFrequency: 'PT5M',
        autoMitigate: true,
        actions: { actionGroups: [group.id] },
      });
    }
  });

  test('lag: the largest lagEvents per partition over 15 minutes above the threshold (default 1000)', () => {
    const rule = predicted(withEmail, 'Microsoft.Insights/scheduledQueryRules').find((r) =>
      r.name.endsWith('-consumer-lag'),
    )!;
    const [criterion] = rule.properties.criteria.allOf;
    expect(rule.properties.windowSize).toBe('PT15M');
    expect(criterion).toMatchObject({
      timeAggregation: 'Maximum',
      metricMeasureColumn: 'lagEvents',
      dimensions: [{ name: 'partitionId', operator: 'Include', values: ['*'] }],
      operator: 'GreaterThan',
      threshold: 1000,
    });
    expect(criterion.query).toContain('startswith "ConsumerLag "');
    const line = consumerLagLine({
      partitionId: '0',
      lagEvents: 3,
      lagSeconds: 1.5,
      checkpointSequenceNumber: 6,
      lastEnqueuedSequenceNumber: 9,
    });
    const read = [...criterion.query.matchAll(/\bl\.(\w+)/g)].map((match: RegExpMatchArray) => match[1]);
    expect(read.sort()).toEqual(['lagEvents', 'partitionId']);
    for (const field of read) expect(fieldsOf(line)).toContain(field);
  });

  test('failures: any EventFailed or BatchFailed line within 5 minutes, by kind', () => {
    const rule = predicted(withEmail, 'Microsoft.Insights/scheduledQueryRules').find((r) =>
      r.name.endsWith('-consumer-failures'),
    )!;
    const [criterion] = rule.properties.criteria.allOf;
    expect(rule.properties.windowSize).toBe('PT5M');
    expect(criterion).toMatchObject({
      timeAggregation: 'Count',
      dimensions: [{ name: 'kind', operator: 'Include', values: ['*'] }],
      operator: 'GreaterThan',
      threshold: 0,
    });
    const kinds = [...criterion.query.matchAll(/startswith "(\w+) "/g)].map(
      (match: RegExpMatchArray) => match[1],
    );
    expect(kinds).toEqual(['EventFailed', 'BatchFailed']);
    // The kinds are what the consumer writes (eventLog.ts), cut at the first space as the rule does.
    const event = {
      partitionId: '0',
      sequenceNumber: 1,
      offset: '1',
      enqueuedTimeUtc: null,
      partitionKey: null,
      properties: {},
      contentType: null,
      rawBody: Buffer.from('x'),
    };
    const written = [
      eventFailedLine(event, 0, 10, 'boom', null),
      batchFailedLine({
        partitionId: '0',
        count: 1,
        firstSequenceNumber: 1,
        lastSequenceNumber: 1,
        retryCount: 0,
        maxRetryCount: 8,
        error: 'boom',
      }),
    ].map((line) => line.split(' ')[0]);
    expect(written).toEqual(kinds);
  });
});
