import { Cron } from 'croner';
import { InvalidScheduleError } from '../errors';
import { messages } from '../errors/messages';
import { instantOfReading, offsetAt, offsetChangeBetween, type OffsetChange } from './zoned-time';

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];
const PRESETS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
/**
 * One comma-separated item: `*` or `?`, a value, or a range, each with an optional step. croner also reads
 * L, W, # and +, which are not part of the documented syntax: a schedule stored today must mean the same tomorrow.
 */
const ITEM = /^(?:[*?]|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/(\d+))?$/i;
const HOUR_MS = 3_600_000;
/** Wider than any DST shift, narrower than the time between two shifts of a zone. */
const SHIFT_WINDOW_MS = 3 * HOUR_MS;
/** croner searches centuries on from here; every pattern that can fire at all fires within eight years. */
const NEVER_FIRES_CHECK_FROM = new Date(Date.UTC(2000, 0, 1));

/**
 * A cron expression: 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading seconds field
 * when `seconds` is allowed. Lists, ranges, steps, month and weekday names, 7 = Sunday, and @daily-style presets.
 * When both day fields are restricted, a day matches either (classic cron).
 *
 * croner matches the fields. It runs in UTC on wall-clock readings written as if they were UTC, and `next` maps
 * readings to instants of the zone itself: croner's own DST rules skip gap times of interval jobs, fire their
 * repeated times twice, and run a fixed-time job in a gap at the end of the gap (03:00), none of which is the
 * documented rule (JavaScript Temporal's 'compatible': 02:30 in a gap runs at 03:30, a repeated time runs once).
 */
export class CronExpression {
  /** Matches wall-clock readings, written as if they were UTC instants. */
  private readonly wallClock: Cron;

  constructor(
    readonly source: string,
    options: { seconds?: boolean } = {},
  ) {
    if (typeof source !== 'string') throw invalid(source, 'not a string');
    const fields = splitFields(source, options.seconds ?? false);
    const pattern = fields.map((text, i) => normalizeField(source, text, FIELDS[i])).join(' ');
    // The checks above leave croner nothing to refuse today; its own checks stay as a second line.
    try {
      // domAndDow: false is classic cron's OR of the two day fields, as long as neither is `*` or `?`.
      this.wallClock = new Cron(pattern, { timezone: 'UTC', mode: '6-part', domAndDow: false, paused: true });
    } catch (error) {
      throw invalid(source, (error as Error).message.replace(/^CronPattern: /, ''));
    }
    // Only a day of month no chosen month has (with any weekday) can never match.
    if (this.wallClock.nextRun(NEVER_FIRES_CHECK_FROM) === null) {
      throw invalid(source, 'no month has such a day, so it would never fire');
    }
  }

  /** The first slot strictly after `afterMs`, as an instant, or undefined if there is none. */
  next(afterMs: number, timeZone: string): number | undefined {
    const { before, after, at } = offsetChangeBetween(afterMs - SHIFT_WINDOW_MS, afterMs + SHIFT_WINDOW_MS, timeZone);
    let from = afterMs < at ? afterMs + before : afterMs + after;
    // Past a fall-back, the readings repeated have fired at their first occurrence, before `afterMs`.
    if (before > after && afterMs >= at) from = Math.max(from, at + before - 1);
    const onward = this.slotFromReading(from, timeZone);
    // Just past a spring-forward, readings the clock skipped fire a gap's length late, and may still be due.
    if (after > before && afterMs >= at && afterMs + before < at + after) {
      const skipped = this.readingAfter(afterMs + before);
      if (skipped !== undefined && skipped < at + after) return earliest(onward, skipped - before);
    }
    return onward;
  }

  /** The slot of the first matching reading after `reading`, or of a reading after its DST gap that fires earlier. */
  private slotFromReading(reading: number, timeZone: string): number | undefined {
    const match = this.readingAfter(reading);
    if (match === undefined) return undefined;
    const offsets = offsetsAroundReading(match, timeZone);
    const instant = instantOfReading(match, offsets);
    if (!isSkipped(match, offsets)) return instant;
    // 02:30 fires at 03:30, so 03:10 comes first.
    const afterGap = this.readingAfter(offsets.at + offsets.after - 1);
    return earliest(instant, afterGap === undefined ? undefined : afterGap - offsets.after);
  }

  /** The first matching reading strictly after `reading`. */
  private readingAfter(reading: number): number | undefined {
    return this.wallClock.nextRun(new Date(reading))?.getTime();
  }
}

function splitFields(source: string, seconds: boolean): string[] {
  const expanded = PRESETS[source.trim().toLowerCase()] ?? source;
  const parts = expanded.trim().split(/\s+/);
  const allowed = seconds ? [5, 6] : [5];
  if (!allowed.includes(parts.length)) {
    const expected = seconds ? '5 or 6 fields' : '5 fields (minute hour day month weekday); pass seconds: true for a seconds field';
    throw invalid(source, `${parts.length} fields, expected ${expected}`);
  }
  return parts.length === 5 ? ['0', ...parts] : parts;
}

/**
 * Checks a field against the documented syntax and writes it in numbers, in a form croner reads the same way
 * classic cron does.
 */
function normalizeField(source: string, text: string, field: Field): string {
  const fail = (why: string): never => {
    throw invalid(source, `${field.name} "${text}": ${why}`);
  };
  const toNumber = (value: string): number => {
    const named = field.names?.indexOf(value.toLowerCase()) ?? -1;
    const n = named >= 0 ? named + field.min : /^\d+$/.test(value) ? Number(value) : fail(`"${value}" is not a number`);
    return n < field.min || n > field.max ? fail(`${n} is outside ${field.min}-${field.max}`) : n;
  };
  const items = text.split(',').map((item) => {
    const [, from, to, stepText] = ITEM.exec(item) ?? fail('malformed');
    if (from === undefined && stepText === undefined) return item; // croner tells `*` from `1-31` for the OR of the day fields
    const first = from === undefined ? field.min : toNumber(from);
    // Classic cron reads `5/15` as `5-59/15`; croner refuses it.
    const last = to !== undefined ? toNumber(to) : from === undefined || stepText !== undefined ? field.max : first;
    if (first > last) fail(`range ${first}-${last} runs backwards`);
    if (stepText === undefined) return first === last ? `${first}` : `${first}-${last}`;
    const step = Number(stepText);
    if (step < 1) fail('step must be at least 1');
    // croner refuses a step longer than the field; it leaves the first value.
    return step > last - first ? `${first}` : `${first}-${last}/${step}`;
  });
  return items.join(',');
}

/** The zone's offsets around the instant a wall-clock reading (written as if UTC) stands for. */
function offsetsAroundReading(reading: number, timeZone: string): OffsetChange {
  // Offsets differ by at most a DST shift here: the second guess lands on the right side of a nearby change.
  const guess = reading - offsetAt(reading - offsetAt(reading, timeZone), timeZone);
  return offsetChangeBetween(guess - SHIFT_WINDOW_MS, guess + SHIFT_WINDOW_MS, timeZone);
}

/** Whether the clock jumps over the reading when it goes forward. */
function isSkipped(reading: number, { before, after, at }: OffsetChange): boolean {
  return after > before && reading - before >= at && reading - after < at;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

function invalid(source: unknown, why: string): InvalidScheduleError {
  return new InvalidScheduleError(messages.invalidCron(source, why));
}
