import type { JobStores } from '../db/stores/job-stores';
import type { ScheduleStore } from '../db/stores/schedule-store';
import type { HandlerRegistry } from '../discovery/handler-registry';
import type { JobEventBus } from '../events/job-event-bus';
import type { ResolvedRetention, ResolvedWorkerOptions } from '../pg-queue.options';
import { CodeSchedules } from '../schedule/code-schedules';
import { Scheduler } from '../schedule/scheduler';
import type { PeriodicService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import type { QueueLogger } from '../services/queue-logger';
import type { JobTelemetry } from '../telemetry/job-telemetry';
import { Pruner } from './pruner';
import { Rescuer } from './rescuer';
import { SerialQueueKeeper } from './serial-queue-keeper';

/** What the maintenance services read and write. */
export interface MaintenanceParts {
  stores: JobStores;
  schedules: ScheduleStore;
  registry: HandlerRegistry;
  telemetry: JobTelemetry;
}

/** The worker's settings they follow. */
export interface MaintenanceSettings {
  options: ResolvedWorkerOptions;
  retention: ResolvedRetention;
  maxPayloadBytes: number;
}

/** What they tell the worker: events, log lines, failed runs, and a wake-up when they made jobs due. */
export interface MaintenanceReports {
  events: JobEventBus;
  logger: QueueLogger;
  failures: FailureLog;
  wake: () => void;
}

/**
 * The periodic services a worker runs beside its claim loop (rescuer, schedule firer, serial-queue keeper, pruner),
 * and the schedules its handlers declare in code, declared at its start. With `worker.schedules: false` this process
 * neither declares nor fires schedules.
 */
export function maintenanceServices(
  { stores, schedules, registry, telemetry }: MaintenanceParts,
  { options, retention, maxPayloadBytes }: MaintenanceSettings,
  { events, logger, failures, wake }: MaintenanceReports,
): { services: PeriodicService[]; codeSchedules: CodeSchedules | null } {
  const services: PeriodicService[] = [
    new Rescuer(stores.maintenance, rescueEveryMs(options.leaseMs), wake, events, telemetry, logger, failures),
    ...(options.schedules ? [new Scheduler(schedules, options.pollIntervalMs, wake, failures)] : []),
    new SerialQueueKeeper(stores.maintenance, options.pollIntervalMs, wake, failures),
    new Pruner(stores.maintenance, retention, failures),
  ];
  const codeSchedules = options.schedules
    ? new CodeSchedules(
        schedules,
        () => stores.admin.now(),
        () => registry.scheduled,
        maxPayloadBytes,
      )
    : null;
  return { services, codeSchedules };
}

/** Expired leases are looked for twice a lease, between every 250 ms and every 5 s. */
const rescueEveryMs = (leaseMs: number) => Math.min(5000, Math.max(250, Math.floor(leaseMs / 2)));
