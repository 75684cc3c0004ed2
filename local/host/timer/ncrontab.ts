// NCRONTAB expressions as the Functions host reads a timer trigger's schedule. The host's TimerTrigger
// (Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Scheduling/CronSchedule.cs)
// parses with NCrontab (atifaziz/NCrontab NCrontab/CrontabSchedule.cs, CrontabFieldImpl.cs,
// CrontabField.cs), with seconds whenever the expression does not have exactly 5 fields; what it does
// not parse as cron it tries as a TimeSpan (TimerSchedule.Create -> ConstantSchedule). Rules kept from
// NCrontab:
// - fields: second 0-59, minute 0-59, hour 0-23, day 1-31, month 1-12 (names), day of week 0-6
//   (Sunday = 0, names; 7 is refused);
// - `*`, `a`, `a-b` (reversed bounds are swapped), `*/n`, `a/n` (a to the maximum), `a-b/n`, lists with `,`;
// - a name matches every full name it is a prefix of, the first in calendar order ("M" is March);
// - day of month AND day of week must both match (not OR as in Vixie cron);
// - days that a month lacks are skipped ("0 0 0 31 * *" skips April).
// Occurrences are computed in this machine's time zone, as Core Tools does (TimerListener uses
// DateTimeOffset.Now; Azure runs in UTC unless WEBSITE_TIME_ZONE says otherwise).

const FIELDS = [
  { name: 'Second', min: 0, max: 59 },
  { name: 'Minute', min: 0, max: 59 },
  { name: 'Hour', min: 0, max: 23 },
  { name: 'Day', min: 1, max: 31 },
  {
    name: 'Month',
    min: 1,
    max: 12,
    names: 'January February March April May June July August September October November December',
  },
  { name: 'DayOfWeek', min: 0, max: 6, names: 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday' },
] as const;

export class CronError extends Error {
  override readonly name = 'CrontabException';
}

/** A parsed schedule: the allowed values of each field, seconds first. */
export interface CronSchedule {
  kind: 'cron';
  fields: ReadonlyArray<ReadonlySet<number>>;
  /** Whether the expression had a seconds field (otherwise second 0). */
  withSeconds: boolean;
}

export function parseCron(expression: string): CronSchedule {
  const tokens = expression.split(' ').filter((token) => token !== '');
  const withSeconds = tokens.length !== 5;
  if (tokens.length !== 5 && tokens.length !== 6) {
    throw new CronError(
      `'${expression}' is an invalid crontab expression. It must contain 6 components of a schedule in the ` +
        'sequence of seconds, minutes, hours, days, months, and days of week.',
    );
  }
  const fields = (withSeconds ? tokens : ['0', ...tokens]).map((token, index) => parseField(token, index));
  return { kind: 'cron', fields, withSeconds };
}

function parseField(expression: string, index: number): Set<number> {
  const field = FIELDS[index];
  const values = new Set<number>();
  try {
    for (const part of expression.split(',')) addPart(part, index, values);
  } catch (error) {
    throw new CronError(
      `'${expression}' is not a valid [${field.name}] crontab field expression. ${(error as Error).message}`,
    );
  }
  return values;
}

function addPart(text: string, index: number, values: Set<number>): void {
  const field = FIELDS[index];
  if (text === '') throw new Error('A crontab field value cannot be empty.');
  let body = text;
  let step = 1;
  const slash = text.indexOf('/');
  if (slash > 0) {
    step = integer(text.slice(slash + 1));
    body = text.slice(0, slash);
  }
  let first: number;
  let last: number;
  if (body === '*') {
    [first, last] = [field.min, field.max];
  } else if (body.indexOf('-') > 0) {
    const dash = body.indexOf('-');
    [first, last] = [value(body.slice(0, dash), index), value(body.slice(dash + 1), index)];
    if (first > last) [first, last] = [last, first];
  } else {
    first = value(body, index);
    last = slash > 0 ? field.max : first;
  }
  for (const bound of [first, last]) {
    if (bound < field.min || bound > field.max) {
      throw new Error(`${bound} is not in the range ${field.min}-${field.max}.`);
    }
  }
  for (let v = first; v <= last; v += Math.max(step, 1)) values.add(v);
}

function value(text: string, index: number): number {
  const field = FIELDS[index];
  if (/^[0-9]/.test(text)) return integer(text);
  if (!('names' in field)) {
    throw new Error(
      `'${text}' is not a valid [${field.name}] crontab field value. It must be a numeric value between ${field.min} and ${field.max} (all inclusive).`,
    );
  }
  const names = field.names.split(' ');
  const found = names.findIndex((name) => name.toLowerCase().startsWith(text.toLowerCase()));
  if (found < 0)
    throw new Error(`'${text}' is not a known value name. Use one of the following: ${names.join(', ')}.`);
  return found + field.min;
}

function integer(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new Error(`'${text}' is not a number.`);
  return Number(text);
}

/**
 * The first occurrence strictly after `after` (whole seconds, local time), or null when there is none
 * in the next 10 years (NCrontab then answers DateTime.MaxValue and the host never fires).
 */
export function nextOccurrence(schedule: CronSchedule, after: Date): Date | null {
  const [seconds, minutes, hours, days, months, weekdays] = schedule.fields;
  const t = new Date(after.getTime());
  t.setMilliseconds(0);
  t.setSeconds(t.getSeconds() + 1);
  const limit = after.getTime() + 10 * 366 * 86_400_000;
  while (t.getTime() <= limit) {
    if (!months.has(t.getMonth() + 1)) {
      t.setMonth(t.getMonth() + 1, 1);
      t.setHours(0, 0, 0);
    } else if (!days.has(t.getDate()) || !weekdays.has(t.getDay())) {
      t.setDate(t.getDate() + 1);
      t.setHours(0, 0, 0);
    } else if (!hours.has(t.getHours())) {
      t.setHours(t.getHours() + 1, 0, 0);
    } else if (!minutes.has(t.getMinutes())) {
      t.setMinutes(t.getMinutes() + 1, 0);
    } else if (!seconds.has(t.getSeconds())) {
      t.setSeconds(t.getSeconds() + 1);
    } else {
      return t;
    }
  }
  return null;
}

/**
 * CrontabSchedule.ToString: each field as `*` when every value is set, else runs of consecutive values
 * as `a-b`, joined by commas (`*\/15` prints as `0,15,30,45`); the seconds field only when given.
 */
export function formatCron(schedule: CronSchedule): string {
  const fields = schedule.withSeconds ? schedule.fields : schedule.fields.slice(1);
  const offset = schedule.withSeconds ? 0 : 1;
  return fields
    .map((values, i) => {
      const field = FIELDS[i + offset];
      const sorted = [...values].sort((a, b) => a - b);
      if (sorted.length === field.max - field.min + 1) return '*';
      const runs: string[] = [];
      for (let start = 0; start < sorted.length;) {
        let end = start;
        while (end + 1 < sorted.length && sorted[end + 1] === sorted[end] + 1) end++;
        runs.push(start === end ? String(sorted[start]) : `${sorted[start]}-${sorted[end]}`);
        start = end + 1;
      }
      return runs.join(',');
    })
    .join(' ');
}
