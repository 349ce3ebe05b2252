import type { ScheduleRow } from '../db/job-row';
import { CronExpression } from './cron-expression';

/** A slot fired more than this late counts as missed (no process was up to fire it in time). */
const MISSED_AFTER_MS = 60_000;
/** Bounds the walk over slots missed during a long outage. */
const MAX_STEPS = 100_000;

const parsed = new Map<string, CronExpression>();

/** Parses (and caches) an expression; throws InvalidScheduleError when it is invalid. */
export function cronExpression(source: string, seconds: boolean): CronExpression {
  const key = `${seconds ? 's' : 'm'}|${source}`;
  let cron = parsed.get(key);
  if (!cron) parsed.set(key, (cron = new CronExpression(source, { seconds })));
  return cron;
}

/** The first slot after `fromMs` and not before `startAt`, or null if there is none before `endAt`. */
export function firstSlot(cron: CronExpression, timeZone: string, fromMs: number, startAt?: Date | null, endAt?: Date | null): Date | null {
  const after = startAt ? Math.max(fromMs, startAt.getTime() - 1) : fromMs;
  const next = cron.next(after, timeZone);
  return next === undefined || (endAt && next > endAt.getTime()) ? null : new Date(next);
}

/**
 * For a due schedule at database time `now`: the latest slot that has come (`last`), whether to fire it
 * (always when on time; when missed, only with catchUp 'last'), and the next slot after now.
 * Older missed slots are never fired.
 */
export function planDueSchedule(schedule: ScheduleRow, now: Date): { fire?: Date; next: Date | null; last: Date | null } {
  const cron = cronExpression(schedule.cron, schedule.seconds);
  const zone = schedule.time_zone;
  const end = schedule.ends_at?.getTime() ?? Infinity;
  const nowMs = now.getTime();
  let latest = (schedule.next_run_at as Date).getTime();
  for (let step = 0; step < MAX_STEPS; step++) {
    const following = cron.next(latest, zone);
    if (following === undefined || following > nowMs || following > end) break;
    latest = following;
  }
  const missed = nowMs - latest > MISSED_AFTER_MS;
  const fire = !missed || schedule.catch_up === 'last' ? new Date(latest) : undefined;
  const next = cron.next(Math.max(nowMs, latest), zone);
  return { fire, next: next === undefined || next > end ? null : new Date(next), last: new Date(latest) };
}
