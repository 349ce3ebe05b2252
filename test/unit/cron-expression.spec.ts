import { InvalidScheduleError } from '../../lib/errors';
import { CronExpression } from '../../lib/schedule/cron-expression';

/** The next `count` slots after `from`, as ISO instants. */
function slots(expression: string, zone: string, from: string, count: number, seconds = false): string[] {
  const cron = new CronExpression(expression, { seconds });
  const out: string[] = [];
  let at = Date.parse(from);
  for (let i = 0; i < count; i++) {
    const next = cron.next(at, zone);
    if (next === undefined) throw new Error(`${expression} has no slot after ${new Date(at).toISOString()}`);
    out.push(new Date(next).toISOString());
    at = next;
  }
  return out;
}

// 2026-01-01 is a Thursday.
const NEW_YEAR = '2026-01-01T00:00:00Z';

describe('CronExpression: fields', () => {
  it('reads plain values', () => {
    expect(slots('15 10 * * *', 'UTC', NEW_YEAR, 3)).toEqual([
      '2026-01-01T10:15:00.000Z',
      '2026-01-02T10:15:00.000Z',
      '2026-01-03T10:15:00.000Z',
    ]);
  });

  it('reads steps, also from a single value as classic cron does (5/20 = 5-59/20)', () => {
    expect(slots('*/20 * * * *', 'UTC', NEW_YEAR, 3)).toEqual([
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T00:40:00.000Z',
      '2026-01-01T01:00:00.000Z',
    ]);
    expect(slots('5/20 * * * *', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:25:00.000Z',
      '2026-01-01T00:45:00.000Z',
      '2026-01-01T01:05:00.000Z',
    ]);
    expect(slots('10-20/5 * * * *', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T01:10:00.000Z',
    ]);
  });

  it('keeps only the first value of a step longer than the field', () => {
    expect(slots('*/90 * * * *', 'UTC', NEW_YEAR, 2)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']);
  });

  it('reads ranges and lists, whatever order a list is written in', () => {
    expect(slots('0 9-11 * * *', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-01T09:00:00.000Z',
      '2026-01-01T10:00:00.000Z',
      '2026-01-01T11:00:00.000Z',
      '2026-01-02T09:00:00.000Z',
    ]);
    expect(slots('30,0 17,9 * * *', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-01T09:00:00.000Z',
      '2026-01-01T09:30:00.000Z',
      '2026-01-01T17:00:00.000Z',
      '2026-01-01T17:30:00.000Z',
    ]);
  });

  it('reads month and weekday names in any case', () => {
    expect(slots('0 12 * JAN,jul Mon', 'UTC', NEW_YEAR, 5)).toEqual([
      '2026-01-05T12:00:00.000Z',
      '2026-01-12T12:00:00.000Z',
      '2026-01-19T12:00:00.000Z',
      '2026-01-26T12:00:00.000Z',
      '2026-07-06T12:00:00.000Z',
    ]);
    // Strictly after Thursday 00:00.
    expect(slots('0 0 * * MON-fri', 'UTC', NEW_YEAR, 3)).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
      '2026-01-06T00:00:00.000Z',
    ]);
  });

  it('takes 7 for Sunday, like 0 and sun', () => {
    const sundays = ['2026-01-04T00:00:00.000Z', '2026-01-11T00:00:00.000Z'];
    expect(slots('0 0 * * 7', 'UTC', NEW_YEAR, 2)).toEqual(sundays);
    expect(slots('0 0 * * 0', 'UTC', NEW_YEAR, 2)).toEqual(sundays);
    expect(slots('0 0 * * sun', 'UTC', NEW_YEAR, 2)).toEqual(sundays);
    // fri/1 runs to the end of the field, 7.
    expect(slots('0 0 * * 5/1', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-03T00:00:00.000Z',
      '2026-01-04T00:00:00.000Z',
      '2026-01-09T00:00:00.000Z',
    ]);
  });

  it('matches a day of either day field when both are restricted (classic cron), else the restricted one', () => {
    // Fridays, or the 13th (a Tuesday in January 2026).
    expect(slots('0 0 13 * fri', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-09T00:00:00.000Z',
      '2026-01-13T00:00:00.000Z',
      '2026-01-16T00:00:00.000Z',
    ]);
    const thirteenths = ['2026-01-13T00:00:00.000Z', '2026-02-13T00:00:00.000Z'];
    expect(slots('0 0 13 * *', 'UTC', NEW_YEAR, 2)).toEqual(thirteenths);
    expect(slots('0 0 13 * ?', 'UTC', NEW_YEAR, 2)).toEqual(thirteenths);
    expect(slots('0 0 ? * fri', 'UTC', NEW_YEAR, 2)).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-09T00:00:00.000Z']);
  });

  it('finds leap days, also across 2100, which has none', () => {
    expect(slots('0 0 29 2 *', 'UTC', NEW_YEAR, 2)).toEqual(['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
    expect(slots('0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z', 1)).toEqual(['2104-02-29T00:00:00.000Z']);
  });

  it.each([
    ['@hourly', '2026-01-01T01:00:00.000Z'],
    ['@daily', '2026-01-02T00:00:00.000Z'],
    ['@midnight', '2026-01-02T00:00:00.000Z'],
    ['@weekly', '2026-01-04T00:00:00.000Z'], // Sunday
    ['@monthly', '2026-02-01T00:00:00.000Z'],
    ['@yearly', '2027-01-01T00:00:00.000Z'],
    ['@annually', '2027-01-01T00:00:00.000Z'],
    [' @DAILY ', '2026-01-02T00:00:00.000Z'],
  ])('reads the preset %p', (preset, first) => {
    expect(slots(preset, 'UTC', NEW_YEAR, 1)).toEqual([first]);
  });
});

describe('CronExpression: seconds', () => {
  it('reads a leading seconds field when seconds are allowed', () => {
    expect(slots('*/15 * * * * *', 'UTC', NEW_YEAR, 4, true)).toEqual([
      '2026-01-01T00:00:15.000Z',
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:00:45.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
  });

  it('fires 5 fields at second 0 when seconds are allowed', () => {
    expect(slots('* * * * *', 'UTC', '2026-01-01T00:00:30Z', 2, true)).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
  });

  it('gives the first slot strictly after the instant, milliseconds included', () => {
    const everySecond = new CronExpression('* * * * * *', { seconds: true });
    expect(everySecond.next(Date.parse('2026-01-01T00:00:00.500Z'), 'UTC')).toBe(Date.parse('2026-01-01T00:00:01Z'));
    expect(everySecond.next(Date.parse('2026-01-01T00:00:01Z'), 'UTC')).toBe(Date.parse('2026-01-01T00:00:02Z'));
    expect(everySecond.next(Date.parse('2026-01-01T00:00:01.999Z'), 'UTC')).toBe(Date.parse('2026-01-01T00:00:02Z'));
  });
});

describe('CronExpression: time zones', () => {
  it('reads the fields as wall-clock time of the zone', () => {
    expect(slots('0 9 * * *', 'Asia/Kolkata', NEW_YEAR, 1)).toEqual(['2026-01-01T03:30:00.000Z']); // +05:30
    expect(slots('0 9 * * *', 'America/New_York', NEW_YEAR, 1)).toEqual(['2026-01-01T14:00:00.000Z']); // -05:00
    // +13:45 in January: it is already 13:45 on January 1st there.
    expect(slots('0 9 * * *', 'Pacific/Chatham', NEW_YEAR, 1)).toEqual(['2026-01-01T19:15:00.000Z']);
    // 08:00 on the 1st in Tokyo is the evening before in UTC.
    expect(slots('0 8 1 * *', 'Asia/Tokyo', NEW_YEAR, 1)).toEqual(['2026-01-31T23:00:00.000Z']);
  });
});

describe('CronExpression: daylight saving time (each slot fires once, by the Temporal "compatible" rule)', () => {
  // Europe/Berlin: 02:00 CET -> 03:00 CEST at 2026-03-29T01:00Z; 03:00 CEST -> 02:00 CET at 2026-10-25T01:00Z.
  it('moves a time skipped by spring-forward forward by the gap: 02:30 runs at 03:30', () => {
    expect(slots('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2)).toEqual([
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(slots('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  it('fires a skipped time and the real time it moves to once', () => {
    expect(slots('30 2,3 * * *', 'Europe/Berlin', '2026-03-28T23:00:00Z', 2)).toEqual([
      '2026-03-29T01:30:00.000Z', // 02:30 and 03:30 both
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(slots('* * * * *', 'Europe/Berlin', '2026-03-29T00:58:00Z', 3)).toEqual([
      '2026-03-29T00:59:00.000Z', // 01:59 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T01:01:00.000Z',
    ]);
  });

  it('still fires a skipped time after the gap when asked from there', () => {
    const cron = new CronExpression('50 2 * * *');
    // At 03:20 CEST, 02:50 (run at 03:50) is still to come.
    expect(cron.next(Date.parse('2026-03-29T01:20:00Z'), 'Europe/Berlin')).toBe(Date.parse('2026-03-29T01:50:00Z'));
  });

  it('orders a moved time after a real time it passes (Lord Howe moves 30 minutes)', () => {
    // Australia/Lord_Howe: 02:00 +10:30 -> 02:30 +11:00 at 2026-10-03T15:30Z. 02:20 runs at 02:50, after 02:40.
    expect(slots('20,40 2 * * *', 'Australia/Lord_Howe', '2026-10-03T12:00:00Z', 4)).toEqual([
      '2026-10-03T15:40:00.000Z', // 02:40
      '2026-10-03T15:50:00.000Z', // 02:20 moved to 02:50
      '2026-10-04T15:20:00.000Z',
      '2026-10-04T15:40:00.000Z',
    ]);
  });

  it('fires a time repeated by fall-back once, at its first occurrence', () => {
    expect(slots('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, not again at 02:30 CET
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(slots('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
    expect(slots('45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T12:00:00Z', 2)).toEqual([
      '2026-04-04T14:45:00.000Z', // 01:45 +11:00
      '2026-04-05T15:15:00.000Z', // 01:45 +10:30
    ]);
  });

  it('does not repeat the slots of the repeated hour', () => {
    expect(slots('*/30 * * * *', 'Europe/Berlin', '2026-10-25T00:00:00Z', 3)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T02:00:00.000Z', // 03:00 CET: 02:00 and 02:30 CET came before, in CEST
      '2026-10-25T02:30:00.000Z',
    ]);
    // Asked from 02:10 CET, in the repeated hour.
    expect(new CronExpression('*/30 * * * *').next(Date.parse('2026-10-25T01:10:00Z'), 'Europe/Berlin')).toBe(
      Date.parse('2026-10-25T02:00:00Z'),
    );
  });
});

describe('CronExpression: refusals', () => {
  it.each([
    ['61 * * * *', {}, 'minute "61": 61 is outside 0-59'],
    ['0 24 * * *', {}, 'hour "24": 24 is outside 0-23'],
    ['0 0 0 * *', {}, 'day of month "0": 0 is outside 1-31'],
    ['0 0 * 13 *', {}, 'month "13": 13 is outside 1-12'],
    ['0 0 * * 8', {}, 'day of week "8": 8 is outside 0-7'],
    ['0 0 30 2 *', {}, 'no month has such a day, so it would never fire'],
    ['0 0 31 4,6,9,11 *', {}, 'no month has such a day, so it would never fire'],
    ['* * * *', {}, '4 fields, expected 5 fields (minute hour day month weekday); pass seconds: true for a seconds field'],
    ['*/10 * * * * *', {}, '6 fields, expected 5 fields'],
    ['* * * * * * *', { seconds: true }, '7 fields, expected 5 or 6 fields'],
    ['5-1 * * * *', {}, 'minute "5-1": range 5-1 runs backwards'],
    ['0 0 * * fri-mon', {}, 'day of week "fri-mon": range 5-1 runs backwards'],
    ['*/0 * * * *', {}, 'minute "*/0": step must be at least 1'],
    ['x * * * *', {}, 'minute "x": "x" is not a number'],
    ['0 0 * mon *', {}, 'month "mon": "mon" is not a number'],
    ['/10 * * * *', {}, 'minute "/10": malformed'],
    ['1,,2 * * * *', {}, 'minute "1,,2": malformed'],
    // croner's extensions are not part of the documented syntax.
    ['0 0 L * *', {}, 'day of month "L": "L" is not a number'],
    ['0 0 15W * *', {}, 'day of month "15W": "15W" is not a number'],
    ['0 0 * * 5#2', {}, 'day of week "5#2": malformed'],
    ['0 0 1 * +mon', {}, 'day of week "+mon": malformed'],
    ['@reboot', {}, '1 fields, expected 5 fields'],
  ])('refuses %p %p: %s', (expression, options, why) => {
    const attempt = () => new CronExpression(expression, options);
    expect(attempt).toThrow(InvalidScheduleError);
    expect(attempt).toThrow(`Invalid cron expression "${expression}": ${why}`);
  });

  it('refuses what is not a string', () => {
    expect(() => new CronExpression(42 as unknown as string)).toThrow(InvalidScheduleError);
    expect(() => new CronExpression(42 as unknown as string)).toThrow(/not a string/);
  });

  it('refuses an empty expression', () => {
    expect(() => new CronExpression('')).toThrow(InvalidScheduleError);
    expect(() => new CronExpression('   ')).toThrow(InvalidScheduleError);
  });
});
