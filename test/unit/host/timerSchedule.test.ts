// The local host's timer schedules against NCrontab's rules (atifaziz/NCrontab CrontabSchedule.cs,
// CrontabFieldImpl.cs) and the host's TimerSchedule.Create (cron with seconds unless 5 fields, then
// TimeSpan). Times are local, as the host computes them.
import { formatCron, nextOccurrence, parseCron } from '../../../local/host/timer/ncrontab';
import { describeSchedule, parseSchedule, scheduleNext } from '../../../local/host/timer/timerListener';

const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s);

function occurrences(expression: string, from: Date, count: number): Date[] {
  const schedule = parseCron(expression);
  const result: Date[] = [];
  let t: Date | null = from;
  while (result.length < count && (t = nextOccurrence(schedule, t)) !== null) result.push(t);
  return result;
}

test.each([
  ['0 */1 * * * *', at(2026, 1, 1, 10, 0, 30), [at(2026, 1, 1, 10, 1), at(2026, 1, 1, 10, 2)]],
  ['*/15 * * * * *', at(2026, 1, 1, 10, 0, 0), [at(2026, 1, 1, 10, 0, 15), at(2026, 1, 1, 10, 0, 30)]],
  // Five fields: no seconds (second 0).
  ['30 9 * * *', at(2026, 1, 1, 10), [at(2026, 1, 2, 9, 30), at(2026, 1, 3, 9, 30)]],
  // Day of month AND day of week: the 13th only when it is a Friday.
  ['0 0 0 13 * Fri', at(2026, 1, 1), [at(2026, 2, 13), at(2026, 3, 13)]],
  // Months without a 31st are skipped.
  ['0 0 0 31 * *', at(2026, 3, 31, 1), [at(2026, 5, 31), at(2026, 7, 31)]],
  // A reversed range is swapped; a/n runs from a to the maximum; names by prefix.
  ['0 0 17-9/4 * * *', at(2026, 1, 1), [at(2026, 1, 1, 9), at(2026, 1, 1, 13)]],
  [
    '0 50/5 * * * *',
    at(2026, 1, 1, 10),
    [at(2026, 1, 1, 10, 50), at(2026, 1, 1, 10, 55), at(2026, 1, 1, 11, 50)],
  ],
  ['0 0 12 * Feb,jun Mon', at(2026, 1, 1), [at(2026, 2, 2, 12), at(2026, 2, 9, 12)]],
  // Strictly after: an occurrence at exactly `from` is not returned.
  ['0 0 * * * *', at(2026, 1, 1, 10), [at(2026, 1, 1, 11)]],
])('%s after %s', (expression, from, expected) => {
  expect(occurrences(expression, from, expected.length)).toEqual(expected);
});

test('a schedule that never occurs has no next occurrence (the host never fires it)', () => {
  expect(nextOccurrence(parseCron('0 0 0 30 2 *'), at(2026, 1, 1))).toBeNull();
});

test.each([
  ['0 */5 * * * *', "Cron: '0 0,5,10,15,20,25,30,35,40,45,50,55 * * * *'"],
  ['0 0 9-17 * * Mon-Fri', "Cron: '0 0 9-17 * * 1-5'"],
  ['*/1 * * * *', "Cron: '* * * * *'"],
  ['00:05:00', 'Constant: 00:05:00'],
])('%s is described as the host does: %s', (expression, description) => {
  expect(describeSchedule(parseSchedule(expression))).toBe(description);
});

test('a TimeSpan schedule fires at a constant interval', () => {
  expect(scheduleNext(parseSchedule('00:00:30'), at(2026, 1, 1, 10))).toEqual(at(2026, 1, 1, 10, 0, 30));
});

test.each([
  ['0 0 * * * 7', /\[DayOfWeek\]/],
  ['60 * * * * *', /\[Second\]/],
  ['0 0 * * * Xyz', /not a known value name/],
  ['* * * *', /was not recognized as a valid cron expression or timespan string/],
  ['0 0 0 0 0 0 0', /6 components/],
])('%s is refused', (expression, message) => {
  expect(() => parseSchedule(expression)).toThrow(message);
});

test('formatCron prints * for a full field and ranges for runs', () => {
  expect(formatCron(parseCron('1,2,3,7 * * * * *'))).toBe('1-3,7 * * * * *');
});
