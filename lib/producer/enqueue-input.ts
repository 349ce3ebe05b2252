import type { NewJobRow } from '../db/job-store';
import { InvalidJobOptionError } from '../errors';
import { messages } from '../errors/messages';
import type { JobToEnqueue } from '../interfaces';
import { DEFAULT_PRIORITY } from '../pg-queue.constants';
import {
  serializePayload,
  validateDelayMs,
  validateJobType,
  validateMaxAttempts,
  validatePriority,
  validateRunAt,
} from '../validation/job-input';

const JOB_KEYS = new Set(['type', 'payload', 'priority', 'runAt', 'delayMs', 'maxAttempts']);

/** Validates one job to enqueue and turns it into a row, or throws a typed error. Writes nothing. */
export function toNewJobRow(job: JobToEnqueue, maxPayloadBytes: number): NewJobRow {
  if (typeof job !== 'object' || job === null) throw new InvalidJobOptionError(messages.invalidOption('job', job, 'an object'));
  for (const key of Object.keys(job)) {
    if (!JOB_KEYS.has(key))
      throw new InvalidJobOptionError(messages.invalidOption(key, (job as unknown as Record<string, unknown>)[key], 'no such option'));
  }
  if (job.runAt !== undefined && job.delayMs !== undefined)
    throw new InvalidJobOptionError(messages.conflictingOptions('runAt', 'delayMs'));
  if (!('payload' in job)) throw new InvalidJobOptionError(messages.invalidOption('payload', undefined, 'a JSON value'));
  return {
    type: validateJobType(job.type),
    payload: serializePayload(job.payload, maxPayloadBytes),
    priority: job.priority === undefined ? DEFAULT_PRIORITY : validatePriority(job.priority),
    maxAttempts: job.maxAttempts === undefined ? null : validateMaxAttempts(job.maxAttempts),
    runAt: job.runAt === undefined ? null : validateRunAt(job.runAt),
    delayMs: job.delayMs === undefined ? null : validateDelayMs(job.delayMs),
  };
}

/** Checks the `client` option: it must be a node-postgres client (or anything with its query method). */
export function validateClient(client: unknown): void {
  if (
    client !== undefined &&
    (typeof client !== 'object' || client === null || typeof (client as { query?: unknown }).query !== 'function')
  ) {
    throw new InvalidJobOptionError(messages.invalidOption('client', client, 'a pg client (PoolClient or Client) inside your transaction'));
  }
}
