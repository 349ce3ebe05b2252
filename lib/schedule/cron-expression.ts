import { InvalidScheduleError } from '../errors';
import { messages } from '../errors/messages';
import { instantOfReading, offsetAt, offsetChangeBetween, wallTimeAt } from './zoned-time';

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY: Field = { name: 'day of month', min: 1, max: 31 };
const MONTH: Field = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
};
const WEEKDAY: Field = { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const PRESETS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
/** Far enough for `0 0 29 2 *` (leap days), near enough to stay fast. */
const SEARCH_DAYS = 366 * 9;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * A cron expression: 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds field
 * when `seconds` is allowed. Lists, ranges, steps, month and weekday names, 7 = Sunday, and @daily-style presets.
 * When both day fields are restricted, a day matches either (classic cron).
 */
export class CronExpression {
  private readonly seconds: number[];
  private readonly minutes: number[];
  private readonly hours: number[];
  private readonly days: Set<number>;
  private readonly months: Set<number>;
  private readonly weekdays: Set<number>;
  private readonly daysRestricted: boolean;
  private readonly weekdaysRestricted: boolean;

  constructor(
    readonly source: string,
    options: { seconds?: boolean } = {},
  ) {
    if (typeof source !== 'string') throw new InvalidScheduleError(messages.invalidCron(source, 'not a string'));
    const expanded = PRESETS[source.trim().toLowerCase()] ?? source;
    const parts = expanded.trim().split(/\s+/);
    const want = options.seconds ? [5, 6] : [5];
    if (!want.includes(parts.length)) {
      const expected = options.seconds
        ? '5 or 6 fields'
        : '5 fields (minute hour day month weekday); pass seconds: true for a seconds field';
      throw new InvalidScheduleError(messages.invalidCron(source, `${parts.length} fields, expected ${expected}`));
    }
    if (parts.length === 5) parts.unshift('0');
    const [s, mi, h, d, mo, w] = parts;
    this.seconds = [...parseField(source, s, SECOND)];
    this.minutes = [...parseField(source, mi, MINUTE)];
    this.hours = [...parseField(source, h, HOUR)];
    this.days = parseField(source, d, DAY);
    this.months = parseField(source, mo, MONTH);
    this.weekdays = new Set([...parseField(source, w, WEEKDAY)].map((day) => day % 7));
    this.daysRestricted = d !== '*' && d !== '?';
    this.weekdaysRestricted = w !== '*' && w !== '?';
    if (
      this.daysRestricted &&
      !this.weekdaysRestricted &&
      ![...this.months].some((m) => [...this.days].some((day) => day <= DAYS_IN_MONTH[m - 1]))
    ) {
      throw new InvalidScheduleError(messages.invalidCron(source, 'no month has such a day, so it would never fire'));
    }
  }

  /** The first slot strictly after `afterMs`, as an instant, or undefined if none within nine years. */
  next(afterMs: number, timeZone: string): number | undefined {
    const start = wallTimeAt(afterMs, timeZone);
    const firstDay = Date.UTC(start.year, start.month - 1, start.day);
    // From the day before: a slot moved forward out of a DST gap can cross midnight.
    for (let i = -1; i < SEARCH_DAYS; i++) {
      const dayStart = firstDay + i * DAY_MS; // midnight of the day, written as if it were UTC
      const date = new Date(dayStart);
      if (!this.matchesDay(date)) continue;
      const dayOffset = offsetAt(dayStart - 12 * HOUR_MS, timeZone);
      let best: number | undefined;
      for (const hour of this.hours) {
        const hourStart = dayStart + hour * HOUR_MS;
        const approx = hourStart - dayOffset; // within a DST shift of the instant this hour starts
        if (approx + 3 * HOUR_MS <= afterMs) continue;
        const offsets = offsetChangeBetween(approx - 2 * HOUR_MS, approx + 3 * HOUR_MS, timeZone);
        // Most hours have one offset throughout: their slots come in order.
        const steady = offsets.at === Infinity;
        for (const minute of this.minutes) {
          for (const second of this.seconds) {
            const instant = instantOfReading(hourStart + minute * 60_000 + second * 1000, offsets);
            if (instant <= afterMs) continue;
            // Nothing later in wall-clock order maps before a slot of a steady hour, except gap slots already seen.
            if (steady) return best === undefined ? instant : Math.min(best, instant);
            if (best === undefined || instant < best) best = instant;
          }
        }
      }
      if (best !== undefined) return best;
    }
    return undefined;
  }

  private matchesDay(date: Date): boolean {
    if (!this.months.has(date.getUTCMonth() + 1)) return false;
    const dayOk = this.days.has(date.getUTCDate());
    const weekdayOk = this.weekdays.has(date.getUTCDay());
    if (this.daysRestricted && this.weekdaysRestricted) return dayOk || weekdayOk;
    return dayOk && weekdayOk;
  }
}

function parseField(source: string, text: string, field: Field): Set<number> {
  const values = new Set<number>();
  const fail = (why: string): never => {
    throw new InvalidScheduleError(messages.invalidCron(source, `${field.name} "${text}": ${why}`));
  };
  for (const item of text.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === '') fail('malformed');
    const step = stepText === undefined ? 1 : toNumber(stepText, field, fail, false);
    if (step < 1) fail('step must be at least 1');
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      [from, to] = [field.min, field.max === 7 ? 6 : field.max];
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined) fail('malformed range');
      [from, to] = [toNumber(a, field, fail), toNumber(b, field, fail)];
      if (from > to) fail(`range ${from}-${to} runs backwards`);
    } else {
      from = toNumber(range, field, fail);
      to = stepText === undefined ? from : field.max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

function toNumber(text: string, field: Field, fail: (why: string) => never, checkRange = true): number {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  const value = named >= 0 ? named + field.min : /^\d+$/.test(text) ? Number(text) : fail(`"${text}" is not a number`);
  if (checkRange && (value < field.min || value > field.max)) fail(`${value} is outside ${field.min}-${field.max}`);
  return value;
}
