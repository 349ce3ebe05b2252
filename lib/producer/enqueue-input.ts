import type { NewJobRow } from '../db/job-writes';
import { checkTransactionClient } from '../db/transaction-clients';
import { InvalidJobKeyError, InvalidJobOptionError } from '../errors';
import { messages } from '../errors/messages';
import type { JobToEnqueue } from '../interfaces';
import { DEFAULT_PRIORITY } from '../pg-queue.constants';
import {
  serializePayload,
  validateDelayMs,
  validateJobType,
  validateMaxAttempts,
  validateJobKey,
  validateJobKeyMode,
  validatePriority,
  validateQueueName,
  validateRunAt,
} from '../validation/job-input';
import { refuseUnknownKeys } from '../validation/known-keys';

const JOB_KEYS = new Set(['type', 'payload', 'priority', 'runAt', 'delayMs', 'maxAttempts', 'jobKey', 'jobKeyMode', 'queue']);

/** Validates one job to enqueue and turns it into a row, or throws a typed error. Writes nothing. */
export function toNewJobRow(job: JobToEnqueue, maxPayloadBytes: number): NewJobRow {
  if (typeof job !== 'object' || job === null) throw new InvalidJobOptionError(messages.invalidOption('job', job, 'an object'));
  refuseUnknownKeys(job, JOB_KEYS, 'a job', (message) => new InvalidJobOptionError(message));
  if (job.runAt !== undefined && job.delayMs !== undefined)
    throw new InvalidJobOptionError(messages.conflictingOptions('runAt', 'delayMs'));
  if (!('payload' in job)) throw new InvalidJobOptionError(messages.invalidOption('payload', undefined, 'a JSON value'));
  if (job.jobKeyMode !== undefined && job.jobKey === undefined) {
    throw new InvalidJobKeyError(messages.invalidOption('jobKeyMode', job.jobKeyMode, 'to come with a jobKey'));
  }
  const jobKey = job.jobKey === undefined ? null : validateJobKey(job.jobKey);
  return {
    type: validateJobType(job.type),
    payload: serializePayload(job.payload, maxPayloadBytes),
    priority: job.priority === undefined ? DEFAULT_PRIORITY : validatePriority(job.priority),
    maxAttempts: job.maxAttempts === undefined ? null : validateMaxAttempts(job.maxAttempts),
    runAt: job.runAt === undefined ? null : validateRunAt(job.runAt),
    delayMs: job.delayMs === undefined ? null : validateDelayMs(job.delayMs),
    queue: job.queue === undefined ? null : validateQueueName(job.queue),
    jobKey,
    jobKeyMode: jobKey === null ? null : validateJobKeyMode(job.jobKeyMode ?? 'dedupe'),
    traceContext: null,
  };
}

/** A key may appear once per batch: the outcome of a second enqueue of it in the same statement is undefined. */
export function assertUniqueKeys(rows: NewJobRow[]): void {
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.jobKey === null) continue;
    if (seen.has(row.jobKey))
      throw new InvalidJobKeyError(messages.invalidOption('jobKey', row.jobKey, 'each key at most once per enqueueMany batch'));
    seen.add(row.jobKey);
  }
}

/** Checks the `client` option: a pg client or an ORM's handle inside a transaction (db/transaction-clients.ts). */
export function validateClient(client: unknown): void {
  if (client !== undefined) checkTransactionClient(client);
}
