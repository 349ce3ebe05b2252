import type { JobRow } from '../db/job-row';
import type { JobSelection } from '../db/job-selection';
import type { RetryWrite } from '../db/sql/operations-sql';
import { InvalidJobOptionError, InvalidJobQueryError, JobStateError } from '../errors';
import { messages } from '../errors/messages';
import type { JobStatus, RetryOptions } from '../interfaces';
import { validateDelayMs, validateMaxAttempts, validateRunAt } from '../validation/job-input';
import { refuseUnknownKeys } from '../validation/known-keys';
import { isEmptyFilter, toJobSelection } from './job-filter-input';

/** The states each action applies to; a job in any other is left as it is. */
export const ACTION_STATES = {
  retry: ['failed', 'cancelled'],
  cancel: ['pending', 'running'],
  remove: ['pending', 'completed', 'failed', 'cancelled'],
  promote: ['pending'],
} as const satisfies Record<string, readonly JobStatus[]>;

const RETRY_KEYS = new Set(['runAt', 'delayMs', 'maxAttempts']);

export function toRetryWrite(options: unknown): RetryWrite {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null)
    throw new InvalidJobOptionError(messages.invalidOption('options', options, 'an object'));
  refuseUnknownKeys(options, RETRY_KEYS, 'retry', (message) => new InvalidJobOptionError(message));
  const { runAt, delayMs, maxAttempts } = options as RetryOptions;
  if (runAt !== undefined && delayMs !== undefined) throw new InvalidJobOptionError(messages.conflictingOptions('runAt', 'delayMs'));
  return {
    runAt: runAt === undefined ? null : validateRunAt(runAt),
    delayMs: delayMs === undefined ? null : validateDelayMs(delayMs),
    maxAttempts: maxAttempts === undefined ? null : validateMaxAttempts(maxAttempts),
  };
}

/** The selection of a bulk action: a filter is required (an empty one would reach every job) and must name a state it applies to. */
export function bulkSelection(action: string, filter: unknown, applicable: readonly JobStatus[]): JobSelection {
  if (isEmptyFilter(filter)) throw new InvalidJobQueryError(messages.bulkNeedsFilter(action));
  const selection = toJobSelection(filter, applicable);
  if (selection.statuses.length === 0) throw new InvalidJobQueryError(messages.noStatusApplies(action, applicable));
  return selection;
}

/**
 * Why an action on one job changed nothing, given the job as it is now: there is no such job (undefined), or it is
 * in a state the action does not apply to (JobStateError). A job found in a state it applies to was held back by its
 * job key (a retry), or changed state while the action ran.
 */
export function unchangedJobError(action: keyof typeof ACTION_STATES, job: JobRow): JobStateError {
  const applicable: readonly JobStatus[] = ACTION_STATES[action];
  if (applicable.includes(job.status)) {
    const message = action === 'retry' ? messages.jobKeyHeld(job.id) : messages.jobStateChanged(action, job.id, job.status);
    return new JobStateError(message, job.id, job.status);
  }
  return new JobStateError(messages.jobState(action, job.id, job.status, applicable.join(' or ')), job.id, job.status);
}
