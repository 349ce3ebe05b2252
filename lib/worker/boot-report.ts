import type { QueueLogger } from '../services/queue-logger';
import type { AdminStore } from '../db/stores/admin-store';
import type { ScheduleStore } from '../db/stores/schedule-store';
import type { HandlerRegistry } from '../discovery/handler-registry';

/**
 * What a person reading the boot log needs: which job types this process runs, which schedules it declared, and
 * stored work that no handler here will ever take (a renamed type, a schedule of a removed handler, or simply a type
 * another service runs). Read after start, off the boot path: a failure here only costs the warning.
 */
export async function reportBoot(
  logger: QueueLogger,
  stores: { jobs: AdminStore; schedules: ScheduleStore },
  registry: HandlerRegistry,
  started: string,
): Promise<void> {
  const types = registry.types;
  const schedules = registry.scheduled.map(
    ({ type, options }) => `${type} (${options.cron}${options.timezone ? ` ${options.timezone}` : ''})`,
  );
  logger.log(
    `${started} Job types: ${types.join(', ') || 'none'}.` +
      (schedules.length > 0 ? ` Schedules declared in code: ${schedules.join(', ')}.` : ''),
  );
  let outside: { pendingTypes: string[]; schedules: Array<{ name: string; type: string }> };
  try {
    const [pendingTypes, schedules] = await Promise.all([stores.jobs.pendingTypesOutside(types), stores.schedules.schedulesOutside(types)]);
    outside = { pendingTypes, schedules };
  } catch {
    return;
  }
  if (outside.pendingTypes.length > 0)
    logger.warn(
      `Pending jobs of type(s) ${outside.pendingTypes.join(', ')} have no handler in this process; they wait for a process that ` +
        'has one (fine if another service runs them; otherwise check for a renamed or removed @JobHandler).',
    );
  if (outside.schedules.length > 0)
    logger.warn(
      `Stored schedule(s) ${outside.schedules.map((s) => `${s.name} -> ${s.type}`).join(', ')} enqueue job types this process ` +
        'does not handle (fine if another service does; unschedule() removes a schedule that is no longer wanted).',
    );
}
