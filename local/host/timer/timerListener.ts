// Timer triggers, following the host's TimerTrigger (Azure/azure-webjobs-sdk-extensions,
// src/WebJobs.Extensions/Extensions/Timers: Listener/TimerListener.cs, Scheduling/TimerSchedule.cs,
// Bindings/TimerTriggerBinding.cs, TimerInfo.cs): the schedule is NCRONTAB (see ncrontab.ts) or a
// TimeSpan; `runOnStartup` invokes once at start; one invocation at a time, the next occurrence
// computed from when the previous one fired; the handler gets the TimerInfo the host serialises
// ({Schedule, ScheduleStatus, IsPastDue}, camel-cased by @azure/functions). What the local host leaves
// out (see docs/fidelity.md, "Timer trigger"): the schedule monitor's status blob (so no past-due run
// after downtime), the singleton lock across instances, and retry policies on timer functions.
import { type RegisteredFunction } from '../coreModule';
import { type Invoker } from '../invoke';
import { type HostLogger } from '../logger';
import { parseTimeSpan } from '../hostJson';
import { resolveSettingReferences } from '../settings';
import { CronError, type CronSchedule, formatCron, nextOccurrence, parseCron } from './ncrontab';

export const TIMER_LOG_CATEGORY = 'Host.Triggers.Timer';
/** System.Timers.Timer holds at most ~24.8 days; the listener waits in 24-day steps (TimerListener.MaxTimerInterval). */
const MAX_TIMER_MS = 24 * 86_400_000;

type Schedule = CronSchedule | { kind: 'constant'; intervalMs: number; text: string };

export interface TimerTriggerFunction {
  fn: RegisteredFunction;
  triggerName: string;
  schedule: Schedule;
  runOnStartup: boolean;
  useMonitor: boolean;
}

export function describeTimerFunctions(
  functions: RegisteredFunction[],
  logger: HostLogger,
  env: NodeJS.ProcessEnv = process.env,
): TimerTriggerFunction[] {
  return functions.flatMap((fn) => {
    const trigger = Object.entries(fn.metadata.bindings).find(
      ([, b]) => b.type?.toLowerCase() === 'timertrigger',
    );
    if (!trigger) return [];
    const [triggerName, binding] = trigger;
    let schedule: Schedule;
    try {
      schedule = parseSchedule(resolveSettingReferences(String(binding.schedule ?? ''), env));
    } catch (error) {
      // The host indexes the other functions and runs them; this one is listed as in error.
      logger.log('error', `The '${fn.metadata.name}' function is in error: ${(error as Error).message}`);
      return [];
    }
    if (fn.metadata.retryOptions?.retryStrategy) {
      logger.log(
        'warning',
        `Function '${fn.metadata.name}': the local host does not apply retry policies to timer triggers (the Functions host does).`,
      );
    }
    return [
      {
        fn,
        triggerName,
        schedule,
        runOnStartup: binding.runOnStartup === true,
        useMonitor: binding.useMonitor !== false && !isSubMinute(schedule),
      },
    ];
  });
}

/** TimerSchedule.Create: cron first, then TimeSpan, else the host's error. */
export function parseSchedule(expression: string): Schedule {
  let cronError: unknown;
  try {
    return parseCron(expression);
  } catch (error) {
    cronError = error;
  }
  try {
    return { kind: 'constant', intervalMs: parseTimeSpan(expression), text: expression.trim() };
  } catch {
    const detail = cronError instanceof CronError ? ` (${cronError.message})` : '';
    throw new Error(
      `The schedule expression '${expression}' was not recognized as a valid cron expression or timespan string.${detail}`,
    );
  }
}

export function scheduleNext(schedule: Schedule, after: Date): Date | null {
  return schedule.kind === 'cron'
    ? nextOccurrence(schedule, after)
    : new Date(after.getTime() + schedule.intervalMs);
}

/** CronSchedule / ConstantSchedule ToString. */
export function describeSchedule(schedule: Schedule): string {
  return schedule.kind === 'cron' ? `Cron: '${formatCron(schedule)}'` : `Constant: ${schedule.text}`;
}

/**
 * TimerSchedule.ShouldDisableScheduleMonitor: "X * * * * *" firing more than once a minute, or a
 * TimeSpan under a minute, keeps no schedule status.
 */
function isSubMinute(schedule: Schedule): boolean {
  if (schedule.kind === 'constant') return schedule.intervalMs < 60_000;
  const [seconds, ...rest] = schedule.fields;
  const wild = [60, 24, 31, 12, 7];
  return rest.every((values, i) => values.size === wild[i]) && seconds.size > 1;
}

interface ScheduleStatus {
  last: Date | null;
  next: Date | null;
  lastUpdated: Date | null;
}

export class TimerListener {
  private readonly trigger: TimerTriggerFunction;
  private readonly invoker: Invoker;
  private readonly logger: HostLogger;
  private timer?: NodeJS.Timeout;
  private status: ScheduleStatus = { last: null, next: null, lastUpdated: null };
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(trigger: TimerTriggerFunction, deps: { invoker: Invoker; logger: HostLogger }) {
    this.trigger = trigger;
    this.invoker = deps.invoker;
    this.logger = deps.logger;
  }

  start(): void {
    const { fn, schedule, runOnStartup } = this.trigger;
    const name = fn.metadata.name;
    const now = new Date();
    this.logger.log(
      'debug',
      `The '${name}' timer is using the schedule '${describeSchedule(schedule)}' and the local time zone: '${Intl.DateTimeFormat().resolvedOptions().timeZone}'`,
      TIMER_LOG_CATEGORY,
    );
    this.status.next = scheduleNext(schedule, now);
    this.logger.log(
      'information',
      `The next 5 occurrences of the '${name}' schedule (${describeSchedule(schedule)}) will be:\n${nextOccurrences(schedule, now, 5)}`,
      TIMER_LOG_CATEGORY,
    );
    if (runOnStartup) {
      this.logger.log(
        'debug',
        `Function '${name}' is configured to run on startup. Executing now.`,
        TIMER_LOG_CATEGORY,
      );
      this.arm(0, true);
    } else {
      this.armForNext();
    }
  }

  /** Stops the schedule and waits for a running invocation to finish (TimerListener.StopAsync). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private armForNext(): void {
    const next = this.status.next;
    if (next === null) {
      this.logger.log(
        'warning',
        `The '${this.trigger.fn.metadata.name}' schedule has no next occurrence: the timer will not fire.`,
        TIMER_LOG_CATEGORY,
      );
      return;
    }
    this.arm(Math.max(1, next.getTime() - Date.now()), false);
  }

  private arm(delayMs: number, onStartup: boolean): void {
    if (this.stopped) return;
    const wait = Math.min(delayMs, MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      if (wait < delayMs) return this.arm(delayMs - wait, onStartup);
      this.running = this.fire(onStartup).finally(() => this.armForNext());
    }, wait);
  }

  private async fire(onStartup: boolean): Promise<void> {
    if (this.stopped) return;
    const { fn, triggerName, schedule, useMonitor } = this.trigger;
    const firedAt = new Date();
    const timerInfo = {
      Schedule: { AdjustForDST: schedule.kind === 'cron' },
      ScheduleStatus: useMonitor
        ? {
            Last: newtonsoftLocalTime(this.status.last),
            Next: newtonsoftLocalTime(this.status.next),
            LastUpdated: newtonsoftLocalTime(this.status.lastUpdated),
          }
        : null,
      IsPastDue: false,
    };
    await this.invoker.invoke(fn, {
      inputData: [{ name: triggerName, data: { json: JSON.stringify(timerInfo) } }],
      triggerMetadata: { TimerTrigger: { string: invariantDateTime(firedAt) } },
      reason: `Timer fired at ${roundTripLocalTime(firedAt)}`,
      details: onStartup ? 'Trigger Details: UnscheduledInvocationReason: RunOnStartup' : undefined,
    });
    // A timer that fired a little early counts from the occurrence it was for, so it cannot fire twice.
    const scheduled = this.status.next;
    const base = !onStartup && scheduled !== null && scheduled > firedAt ? scheduled : firedAt;
    this.status = { last: base, next: scheduleNext(schedule, base), lastUpdated: base };
  }
}

/** TimerInfo.FormatNextOccurrences: UTC as `MM/dd/yyyy HH:mm:ssZ`, other zones `local (utc)`. */
function nextOccurrences(schedule: Schedule, from: Date, count: number): string {
  const lines: string[] = [];
  let at: Date | null = from;
  for (let i = 0; i < count && at !== null; i++) {
    at = scheduleNext(schedule, at);
    if (at === null) break;
    const utc = `${usDate(at, true)}Z`;
    lines.push(isUtcZone(at) ? utc : `${usDate(at, false)}${offsetText(at)} (${utc})`);
  }
  return lines.join('\n');
}

function isUtcZone(at: Date): boolean {
  const year = at.getFullYear();
  return [0, 6].every((month) => new Date(year, month, 1).getTimezoneOffset() === 0);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function usDate(at: Date, utc: boolean): string {
  const [y, mo, d, h, mi, s] = utc
    ? [
        at.getUTCFullYear(),
        at.getUTCMonth() + 1,
        at.getUTCDate(),
        at.getUTCHours(),
        at.getUTCMinutes(),
        at.getUTCSeconds(),
      ]
    : [at.getFullYear(), at.getMonth() + 1, at.getDate(), at.getHours(), at.getMinutes(), at.getSeconds()];
  return `${pad(mo)}/${pad(d)}/${y} ${pad(h)}:${pad(mi)}:${pad(s)}`;
}

function offsetText(at: Date): string {
  const minutes = -at.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  return `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

function localIso(at: Date): string {
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T` +
    `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  );
}

/** DateTime.Now.ToString("o"): local time with 7 fraction digits and the offset. */
function roundTripLocalTime(at: Date): string {
  return `${localIso(at)}.${pad(at.getMilliseconds(), 3)}0000${offsetText(at)}`;
}

/** Newtonsoft's default for a local DateTime: fraction without trailing zeros; default(DateTime) for none. */
function newtonsoftLocalTime(at: Date | null): string {
  if (at === null) return `0001-01-01T00:00:00${offsetText(new Date())}`;
  const fraction = at.getMilliseconds() === 0 ? '' : `.${pad(at.getMilliseconds(), 3).replace(/0+$/, '')}`;
  return `${localIso(at)}${fraction}${offsetText(at)}`;
}

/** DateTime.Now.ToString() in the invariant culture (TimerTriggerBinding's `TimerTrigger` binding data). */
function invariantDateTime(at: Date): string {
  return usDate(at, false);
}
