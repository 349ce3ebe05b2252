import { Injectable } from '@nestjs/common';
import { InvalidScheduleError, JobHandler, PgQueueConfigError, type JobContext } from '../../lib';
import { CronExpression } from '../../lib/schedule/cron-expression';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const ran = new Recorder<string>();

@Injectable()
class ScheduledHandlers {
  @JobHandler('tick')
  async tick(_: unknown, ctx: JobContext) {
    ran.push(ctx.job.id);
  }

  @JobHandler('report.yearly', { cron: '0 0 1 1 *', timezone: 'Europe/Berlin' })
  async yearly() {}
}

const slots = (expression: string, zone: string, from: string, count: number, seconds = false) => {
  const cron = new CronExpression(expression, { seconds });
  const out: string[] = [];
  let at = Date.parse(from);
  for (let i = 0; i < count; i++) {
    at = cron.next(at, zone) as number;
    out.push(new Date(at).toISOString());
  }
  return out;
};

describe('cron expressions, time zones and DST', () => {
  it('reads 5 fields in the given zone', () => {
    expect(slots('0 9 * * mon-fri', 'America/New_York', '2026-11-20T00:00:00Z', 3)).toEqual([
      '2026-11-20T14:00:00.000Z',
      '2026-11-23T14:00:00.000Z',
      '2026-11-24T14:00:00.000Z',
    ]);
    expect(slots('*/20 * * * *', 'UTC', '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T00:40:00.000Z',
      '2026-01-01T01:00:00.000Z',
    ]);
    expect(slots('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', 2)).toEqual(['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
  });

  it('moves a slot that falls in the spring-forward gap forward by the gap (02:30 runs at 03:30), once', () => {
    // Europe/Berlin skips 02:00-03:00 on 2026-03-29.
    expect(slots('30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('fires a slot in the repeated fall-back hour once, at its first occurrence', () => {
    // Europe/Berlin repeats 02:00-03:00 on 2026-10-25.
    expect(slots('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, not again at 02:30 CET
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('takes a seconds field only when asked for', () => {
    expect(() => new CronExpression('*/10 * * * * *')).toThrow(InvalidScheduleError);
    expect(slots('*/10 * * * * *', 'UTC', '2026-01-01T00:00:00Z', 2, true)).toEqual([
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:20.000Z',
    ]);
  });

  it.each([['61 * * * *'], ['0 0 30 2 *'], ['* * * *'], ['* * * * * * *'], ['5-1 * * * *'], ['*/0 * * * *'], ['x * * * *'], ['']])(
    'rejects %p',
    (expression) => {
      expect(() => new CronExpression(expression)).toThrow(InvalidScheduleError);
    },
  );
});

describe('recurring schedules', () => {
  let db: TestDatabase;
  let apps: QueueApp[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    apps = await Promise.all([0, 1, 2].map(() => startQueueApp(db, { providers: [ScheduledHandlers], worker: { pollIntervalMs: 50 } })));
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await db?.close();
  });

  const slotJobs = (name: string) =>
    db.query<{ slot: Date; n: number }>(
      `SELECT schedule_slot AS slot, count(*)::int AS n FROM ${db.schema}.jobs WHERE schedule_name = $1 GROUP BY 1 ORDER BY 1`,
      [name],
    );

  it('gives exactly one job per slot while three apps race for every slot', async () => {
    await apps[0].queue.schedule('every-second', '* * * * * *', 'tick', { from: 'schedule' }, { seconds: true });
    await waitFor(async () => (await slotJobs('every-second')).length >= 4, { message: 'four slots fired' });
    await apps[1].queue.unschedule('every-second');
    const fired = await slotJobs('every-second');
    expect(fired.every((slot) => slot.n === 1)).toBe(true);
    // Consecutive seconds: none skipped, none doubled.
    fired.slice(1).forEach((slot, i) => expect(slot.slot.getTime() - fired[i].slot.getTime()).toBe(1000));
    await waitFor(async () => {
      const [{ done }] = await db.query<{ done: number }>(
        `SELECT count(*)::int AS done FROM ${db.schema}.jobs WHERE schedule_name = 'every-second' AND status = 'completed'`,
      );
      return done === fired.length;
    });
  });

  it('stores schedules declared in code, and a restart does not fire a slot twice', async () => {
    const [declared] = (await apps[0].queue.listSchedules()).filter((s) => s.name === 'report.yearly');
    expect(declared).toMatchObject({ cron: '0 0 1 1 *', timezone: 'Europe/Berlin', declaredIn: 'code', type: 'report.yearly' });
    expect(declared.nextRunAt?.toISOString()).toMatch(/-12-31T23:00:00.000Z$/); // midnight Jan 1 in Berlin
    // Make the slot come due now; the apps fire it.
    await db.query(`UPDATE ${db.schema}.schedules SET next_run_at = now() - interval '1 second' WHERE name = 'report.yearly'`);
    await waitFor(async () => (await slotJobs('report.yearly')).length === 1);
    const [{ slot }] = await slotJobs('report.yearly');
    // A restart re-declares the schedule (unchanged: its next slot stays) ...
    const restarted = await startQueueApp(db, { providers: [ScheduledHandlers] });
    await restarted.close();
    const [after] = (await apps[0].queue.listSchedules()).filter((s) => s.name === 'report.yearly');
    expect(after.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    // ... and even a schedule pushed back to the same slot cannot give it a second job.
    await db.query(`UPDATE ${db.schema}.schedules SET next_run_at = $1 WHERE name = 'report.yearly'`, [slot]);
    await waitFor(async () => {
      const [{ next }] = await db.query<{ next: Date }>(
        `SELECT next_run_at AS next FROM ${db.schema}.schedules WHERE name = 'report.yearly'`,
      );
      return next.getTime() > Date.now();
    });
    expect(await slotJobs('report.yearly')).toEqual([{ slot, n: 1 }]);
  });

  it.each([
    ['skip', 0],
    ['last', 1],
  ] as const)('after an outage, catchUp %s fires %i job for the missed slots', async (catchUp, expected) => {
    const [{ now }] = await db.query<{ now: Date }>('SELECT now() AS now');
    const missed = new Date(now.getTime() - 30 * 60_000); // a daily slot half an hour ago, and the one a day before
    const cron = `${missed.getUTCMinutes()} ${missed.getUTCHours()} * * *`;
    const name = `outage-${catchUp}`;
    await apps[0].queue.unschedule('every-second');
    await apps[0].queue.pause('tick'); // keep the jobs visible as they were created
    await apps[0].queue.schedule(name, cron, 'tick', {}, { catchUp });
    missed.setUTCSeconds(0, 0);
    await db.query(`UPDATE ${db.schema}.schedules SET next_run_at = $1 WHERE name = $2`, [new Date(missed.getTime() - 86_400_000), name]);
    await waitFor(
      async () => {
        const [{ next }] = await db.query<{ next: Date }>(`SELECT next_run_at AS next FROM ${db.schema}.schedules WHERE name = $1`, [name]);
        return next.getTime() > now.getTime();
      },
      { message: 'schedule advanced past the outage' },
    );
    const fired = await slotJobs(name);
    expect(fired).toHaveLength(expected);
    if (expected) expect(fired[0].slot.getTime()).toBe(missed.getTime());
    await apps[0].queue.resume('tick');
  });

  it('respects startAt and endAt', async () => {
    const start = new Date(Date.UTC(2030, 0, 1));
    const schedule = await apps[0].queue.schedule(
      'later',
      '0 12 * * *',
      'tick',
      {},
      { startAt: start, endAt: new Date(Date.UTC(2030, 0, 3)) },
    );
    expect(schedule.nextRunAt?.toISOString()).toBe('2030-01-01T12:00:00.000Z');
    const ended = await apps[0].queue.schedule('over', '0 12 * * *', 'tick', {}, { endAt: new Date(Date.UTC(2001, 0, 1)) });
    expect(ended.nextRunAt).toBeNull();
  });

  it('rejects invalid schedules with a typed error, storing nothing', async () => {
    const { queue } = apps[0];
    await expect(queue.schedule('bad', '61 * * * *', 'tick', {})).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.schedule('bad', '0 0 30 2 *', 'tick', {})).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.schedule('bad', '* * * *', 'tick', {})).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.schedule('bad', '0 * * * *', 'tick', {}, { timezone: 'Mars/Olympus' })).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.schedule('bad', '0 * * * *', 'tick', {}, { catchUp: 'all' as 'last' })).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.schedule('', '0 * * * *', 'tick', {})).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.schedule('bad\nname', '0 * * * *', 'tick', {})).rejects.toBeInstanceOf(InvalidScheduleError);
    await expect(queue.unschedule('x'.repeat(129))).rejects.toBeInstanceOf(InvalidScheduleError);
    expect((await queue.listSchedules()).map((s) => s.name)).not.toContain('bad');
  });

  it('fails the bootstrap on an invalid cron option of a handler', async () => {
    @Injectable()
    class BadCron {
      @JobHandler('bad.cron', { cron: '0 0 31 2 *' })
      async run() {}
    }
    const attempt = startQueueApp(db, { providers: [BadCron] });
    await expect(attempt).rejects.toBeInstanceOf(PgQueueConfigError);
    await expect(attempt).rejects.toThrow(/BadCron#run: cron .*never fire/);
  });
});
