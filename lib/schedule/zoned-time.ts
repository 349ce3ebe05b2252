import { InvalidScheduleError } from '../errors';
import { messages } from '../errors/messages';

/** A wall-clock reading in some time zone. Months are 1-12. */
interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws InvalidScheduleError unless `timeZone` is an IANA zone this Node.js knows. */
export function validateTimeZone(timeZone: unknown): string {
  if (typeof timeZone !== 'string' || timeZone.length === 0) throw new InvalidScheduleError(messages.invalidTimeZone(timeZone));
  try {
    formatter(timeZone);
  } catch {
    throw new InvalidScheduleError(messages.invalidTimeZone(timeZone));
  }
  return timeZone;
}

/** The wall-clock time at instant `ms` in `timeZone`. */
function wallTimeAt(ms: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}

/** The zone's offsets around an instant where they may change: `before` until `at`, `after` from then on. */
export interface OffsetChange {
  before: number;
  after: number;
  /** The instant the offset changes; Infinity when it does not change in the window searched. */
  at: number;
}

/** The offsets over [fromMs, toMs], assuming at most one change in that window (true of real zones for hours). */
export function offsetChangeBetween(fromMs: number, toMs: number, timeZone: string): OffsetChange {
  const before = offsetAt(fromMs, timeZone);
  const after = offsetAt(toMs, timeZone);
  if (before === after) return { before, after, at: Infinity };
  let [lo, hi] = [fromMs, toMs];
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return { before, after, at: hi };
}

/**
 * The instant of a wall-clock reading (given as if it were UTC), disambiguated like Temporal's 'compatible':
 * a reading repeated when clocks go back maps to its first occurrence; a reading skipped when clocks go forward
 * maps to the same reading of the old offset, i.e. it moves forward by the length of the gap (02:30 -> 03:30).
 */
export function instantOfReading(reading: number, offsets: OffsetChange): number {
  const early = reading - offsets.before;
  const late = reading - offsets.after;
  const earlyValid = early < offsets.at;
  const lateValid = late >= offsets.at;
  if (earlyValid && lateValid) return Math.min(early, late);
  if (lateValid) return late;
  return early;
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (positive east of Greenwich). */
export function offsetAt(ms: number, timeZone: string): number {
  const wall = wallTimeAt(ms, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}
