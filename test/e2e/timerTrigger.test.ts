// The local host's timer trigger as a real process with a fixture app (test/e2e/fixtures/timerApp):
// runOnStartup, seconds-level NCRONTAB, the TimerInfo the handler gets, the host's log lines, and a
// function with an unreadable schedule listed in error while the others run. See docs/fidelity.md,
// "Timer trigger".
import path from 'node:path';
import { readRecords } from '../../local/host/recorder';
import { type HostProcess, startHostProcess } from '../../local/stack/processes';
import { waitFor } from '../support/waitFor';
import { type TempDir, tempDir } from '../support/tempDir';

jest.setTimeout(90_000);

let dir: TempDir | undefined;
let host: HostProcess;
let recordFile: string;

beforeAll(async () => {
  dir = tempDir('timer');
  recordFile = path.join(dir.path, 'records.ndjson');
  host = await startHostProcess({
    appRoot: path.join(__dirname, 'fixtures', 'timerApp'),
    port: 0,
    settingsFile: path.join(dir.path, 'none.json'),
    recordFile,
  });
});

afterAll(async () => {
  await host?.stop();
  dir?.remove();
});

const invocations = (name: string) =>
  readRecords(recordFile).filter((record) => record.functionName === name);

test('timer functions are listed; one whose schedule cannot be read is in error and the others run', () => {
  expect(host.child.lines).toContain('\tstartupTimer: timerTrigger');
  expect(host.child.lines).toContain('\teverySecond: timerTrigger');
  expect(host.child.lines.join('\n')).toContain(
    "The 'badSchedule' function is in error: The schedule expression 'not a schedule' was not recognized as a valid cron expression or timespan string.",
  );
  expect(
    host.child.lines.some((line) =>
      line.includes("The next 5 occurrences of the 'everySecond' schedule (Cron: '* * * * * *') will be:"),
    ),
  ).toBe(true);
});

test('runOnStartup invokes once at start, with the host reason and trigger details, and TimerInfo with a schedule status', async () => {
  const [startup] = await waitFor(
    () => (invocations('startupTimer').length > 0 ? invocations('startupTimer') : undefined),
    { what: 'the startup invocation', timeoutMs: 30_000 },
  );
  expect(startup.inputs[0]).toEqual({
    schedule: { adjustForDST: true },
    scheduleStatus: {
      last: expect.stringMatching(/^0001-01-01T00:00:00[+-]\d\d:\d\d$/),
      next: expect.stringMatching(/^\d{4}-01-01T00:00:00[+-]\d\d:\d\d$/),
      lastUpdated: expect.stringMatching(/^0001-01-01T00:00:00/),
    },
    isPastDue: false,
  });
  // The record is written before the host's output reaches this process: wait for the line too.
  await host.child.waitForLine(/Trigger Details: UnscheduledInvocationReason: RunOnStartup$/, 30_000);
  const executing = host.child.lines.filter((line) => line.includes("Executing 'Functions.startupTimer'"));
  expect(executing).toHaveLength(1);
  expect(executing[0]).toMatch(
    /\(Reason='Timer fired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d', Id=/,
  );
  expect(host.child.lines).toContainEqual(
    expect.stringMatching(/\] Trigger Details: UnscheduledInvocationReason: RunOnStartup$/),
  );
});

test('a seconds schedule fires on whole seconds, one invocation at a time, without a schedule status (sub-minute)', async () => {
  const fired = await waitFor(
    () => (invocations('everySecond').length >= 3 ? invocations('everySecond') : undefined),
    { what: '3 invocations', timeoutMs: 30_000 },
  );
  for (const record of fired) {
    expect(record.succeeded).toBe(true);
    expect(record.inputs[0]).toEqual({
      schedule: { adjustForDST: true },
      scheduleStatus: null,
      isPastDue: false,
    });
  }
  const reasons = host.child.lines
    .filter((line) => line.includes("Executing 'Functions.everySecond'"))
    .map((line) => /Timer fired at [^.]+:(\d\d)\./.exec(line)?.[1]);
  expect(new Set(reasons).size).toBe(reasons.length);
});
