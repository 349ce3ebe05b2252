import type { CatchUpPolicy } from '../../interfaces';
import type { ScheduleRow } from '../job-row';
import type { QueueDatabase } from '../queue-database';
import type { StatementRunner } from '../statement-runner';

/** A validated schedule, ready to be stored (see schedule-input.ts). */
export interface ScheduleWrite {
  name: string;
  cron: string;
  seconds: boolean;
  timeZone: string;
  type: string;
  /** JSON text. */
  payload: string;
  priority: number;
  maxAttempts: number | null;
  queue: string | null;
  catchUp: CatchUpPolicy;
  startsAt: Date | null;
  endsAt: Date | null;
  /** Its first slot, from the database clock. */
  nextRunAt: Date | null;
  declaredIn: 'code' | 'runtime';
}

/** Runs the statements of sql/schedule-sql.ts: storing recurring schedules and firing their slots. */
export class ScheduleStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  private get sql() {
    return this.db.sql;
  }

  /** Creates or updates a schedule; an unchanged timing keeps its next slot. */
  async upsertSchedule(s: ScheduleWrite): Promise<ScheduleRow> {
    const { rows } = await this.statements.run<ScheduleRow>(this.db.pool, this.sql.upsertSchedule, [
      s.name,
      s.cron,
      s.seconds,
      s.timeZone,
      s.type,
      s.payload,
      s.priority,
      s.maxAttempts,
      s.queue,
      s.catchUp,
      s.startsAt,
      s.endsAt,
      s.nextRunAt,
      s.declaredIn,
    ]);
    return rows[0];
  }

  async deleteSchedule(name: string): Promise<boolean> {
    const { rows } = await this.statements.run(this.db.pool, this.sql.deleteSchedule, [name]);
    return rows.length > 0;
  }

  async listSchedules(): Promise<ScheduleRow[]> {
    const { rows } = await this.statements.run<ScheduleRow>(this.db.pool, this.sql.listSchedules);
    return rows;
  }

  /**
   * Fires due schedules in one transaction: locks them (skipping those another process holds), lets `plan`
   * decide each one's slot to fire and next slot, inserts the slot's job (a no-op if it exists) and advances.
   */
  async fireDueSchedules(
    plan: (schedule: ScheduleRow, now: Date) => { fire?: Date; next: Date | null; last: Date | null },
    limit = 100,
  ): Promise<number> {
    return this.statements.transaction(async (query) => {
      let fired = 0;
      const { rows } = await query<ScheduleRow & { db_now: Date }>(this.sql.lockDueSchedules, [limit]);
      for (const schedule of rows) {
        const { fire, next, last } = plan(schedule, schedule.db_now);
        if (fire) {
          const inserted = await query(this.sql.insertScheduledJob, [
            schedule.name,
            fire,
            schedule.type,
            JSON.stringify(schedule.payload),
            schedule.priority,
            schedule.max_attempts,
            schedule.queue,
          ]);
          fired += inserted.rowCount ?? 0;
        }
        await query(this.sql.advanceSchedule, [schedule.name, next, last]);
      }
      return fired;
    });
  }

  /** Stored schedules that enqueue a type not among `types` (at most 20). */
  async schedulesOutside(types: string[]): Promise<Array<{ name: string; type: string }>> {
    const { rows } = await this.statements.run<{ name: string; type: string }>(this.db.pool, this.sql.schedulesOutside, [types]);
    return rows;
  }
}
