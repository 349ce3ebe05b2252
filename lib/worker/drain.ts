import type { QueueLogger } from '../services/queue-logger';
import { WorkerShutdownError } from '../errors';
import { messages } from '../errors/messages';
import type { BackgroundService } from '../services/background-service';
import { untilDeadline } from '../services/until-deadline';
import type { ActiveJob } from './active-job';
import type { OutcomeWriter } from './outcome-writer';
import type { SlotTable } from './slot-table';

/** Last writes at shutdown (final progress, a hand-back) may not wait longer than this past the deadline. */
export const FINAL_WRITE_MS = 2000;

/** What the drain reads and stops. */
export interface DrainedWorker {
  readonly slots: SlotTable;
  readonly outcomes: OutcomeWriter;
  readonly completer: { idle(): Promise<void> };
  readonly leaseKeeper: BackgroundService;
  /** The buffers of what handlers report (progress, log lines): their last writes follow the jobs' outcomes. */
  readonly reports: BackgroundService[];
  readonly logger: QueueLogger;
  readonly options: { shutdownTimeoutMs: number; leaseMs: number };
}

/**
 * The second shutdown step, once claiming has stopped. The whole drain is bounded: running jobs get until `deadline`,
 * then their signals are aborted and they are handed back; outcome writes stop retrying at the deadline, and the last
 * writes get FINAL_WRITE_MS more. What could not be written by then is left to the leases: another worker runs those
 * jobs again once they expire (at-least-once). Heartbeats run until the last job has settled, or the final deadline.
 */
export async function drainJobs(worker: DrainedWorker, deadline: number): Promise<void> {
  const { slots, logger, options } = worker;
  const finalDeadline = deadline + FINAL_WRITE_MS;
  const settled = () => [...slots.active.values(), ...slots.settling.values()].flatMap((job) => job.outcomeWritten ?? []);
  if (slots.active.size > 0)
    logger.log(
      `Shutting down: waiting up to ${Math.max(0, deadline - Date.now())} ms for ${slots.active.size} running job(s) ${jobList(slots.active.values())}.`,
    );
  await untilDeadline(Promise.all(settled()), deadline);
  worker.outcomes.giveUpRetriesAt(deadline);
  const unfinished = [...slots.active.values()].filter((job) => job.phase === 'running');
  if (unfinished.length > 0) {
    logger.warn(
      `Shutdown deadline (${options.shutdownTimeoutMs} ms) reached: aborting ${unfinished.length} job(s) ${jobList(unfinished)} ` +
        'and handing them back.',
    );
    const reason = new WorkerShutdownError(messages.shutdownDeadline(options.shutdownTimeoutMs));
    for (const job of unfinished) job.abort(reason);
  }
  await untilDeadline(Promise.all(settled()), finalDeadline);
  await untilDeadline(worker.completer.idle(), finalDeadline);
  const unwritten = [...slots.active.values(), ...slots.settling.values()];
  if (unwritten.length > 0)
    logger.warn(
      `Shutdown: the outcome of ${unwritten.length} job(s) ${jobList(unwritten)} could not be written in time; they are left to ` +
        `their leases and will run again elsewhere once those expire (within ${options.leaseMs} ms).`,
    );
  await untilDeadline(worker.leaseKeeper.stop(), finalDeadline);
  await untilDeadline(Promise.all(worker.reports.map((report) => report.stop())), Math.max(finalDeadline, Date.now() + 100));
}

/** `#1, #2, #3` (at most ten ids, then a count), for log lines. */
export function jobList(jobs: Iterable<ActiveJob>): string {
  const ids = [...jobs].map((job) => `#${job.lease.id}`);
  return ids.length > 10 ? `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more` : ids.join(', ');
}
