import type { JobStore } from '../db/job-store';
import type { HandlerRegistry } from '../discovery/handler-registry';
import type { BackgroundService } from '../worker/background-service';
import { toScheduleParams } from './schedule-input';

/**
 * The schedules handlers declare with `cron`, upserted when the worker starts (before it claims): an unchanged one
 * keeps its next slot. A failure fails the start, as a bad declaration should.
 */
export class CodeSchedules implements BackgroundService {
  readonly name = 'Declaring the schedules of @JobHandler({ cron })';

  constructor(
    private readonly store: JobStore,
    private readonly registry: HandlerRegistry,
    private readonly maxPayloadBytes: number,
  ) {}

  async start(): Promise<void> {
    const scheduled = this.registry.scheduled;
    if (scheduled.length === 0) return;
    const now = await this.store.now();
    for (const { type, options } of scheduled) {
      const params = toScheduleParams(
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
      await this.store.upsertSchedule(params);
    }
  }

  async stop(): Promise<void> {}
}
