import type { ScheduleStore } from '../db/stores/schedule-store';
import type { JobHandlerOptions } from '../interfaces';
import type { BackgroundService } from '../services/background-service';
import { toScheduleWrite } from './schedule-input';

/**
 * The schedules handlers declare with `cron`, upserted when the worker starts (before it claims): an unchanged one
 * keeps its next slot. A failure fails the start, as a bad declaration should.
 */
export class CodeSchedules implements BackgroundService {
  readonly name = 'Declaring the schedules of @JobHandler({ cron })';

  constructor(
    private readonly schedules: ScheduleStore,
    /** The database clock. */
    private readonly now: () => Promise<number>,
    /** The handlers that declare a `cron`, by job type, as discovered by the time the worker starts. */
    private readonly declared: () => ReadonlyArray<{ type: string; options: Pick<JobHandlerOptions, 'cron' | 'timezone' | 'catchUp'> }>,
    private readonly maxPayloadBytes: number,
  ) {}

  async start(): Promise<void> {
    const declared = this.declared();
    if (declared.length === 0) return;
    const now = await this.now();
    for (const { type, options } of declared) {
      const write = toScheduleWrite(
        {
          name: type,
          cron: options.cron as string,
          type,
          payload: {},
          options: { timezone: options.timezone, catchUp: options.catchUp },
          declaredIn: 'code',
        },
        now,
        this.maxPayloadBytes,
      );
      await this.schedules.upsertSchedule(write);
    }
  }

  async stop(): Promise<void> {}
}
