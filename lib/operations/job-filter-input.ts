import { JOB_STATUSES, type JobSelection } from '../db/job-selection';
import { InvalidJobQueryError } from '../errors';
import { messages } from '../errors/messages';
import type { JobFilter, JobStatus, ListJobsQuery, ReadOptions } from '../interfaces';
import { validateJobKey, validateJobType, validateQueueName, validateRunAt } from '../validation/job-input';
import { refuseUnknownKeys } from '../validation/known-keys';

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;

const FILTER_FIELDS = ['type', 'status', 'queue', 'jobKey', 'createdAfter', 'createdBefore'] as const;
const FILTER_KEYS = new Set<string>(FILTER_FIELDS);
const QUERY_KEYS = new Set<string>([...FILTER_FIELDS, 'limit', 'cursor']);
const READ_KEYS = new Set(['timeoutMs']);
/** PostgreSQL's statement_timeout is an int of milliseconds. */
const INT4_MAX = 2147483647;

const queryError = (message: string) => new InvalidJobQueryError(message);

/** Checks a filter and turns it into a selection of jobs in `applicable` states, or throws a typed error. */
export function toJobSelection(filter: unknown, applicable: readonly JobStatus[] = JOB_STATUSES, keys = FILTER_KEYS): JobSelection {
  if (filter === undefined) filter = {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw queryError(messages.invalidOption('filter', filter, 'an object'));
  refuseUnknownKeys(filter, keys, 'a job filter', queryError);
  const given = filter as JobFilter;
  // The field validators' own errors are typed too (InvalidJobTypeError, InvalidJobKeyError...).
  const selection: JobSelection = { statuses: statusesOf(given.status, applicable) };
  if (given.type !== undefined) selection.type = validateJobType(given.type);
  if (given.queue !== undefined) selection.queue = validateQueueName(given.queue);
  if (given.jobKey !== undefined) selection.jobKey = validateJobKey(given.jobKey);
  if (given.createdAfter !== undefined) selection.createdAfter = validTime(given.createdAfter, 'createdAfter');
  if (given.createdBefore !== undefined) selection.createdBefore = validTime(given.createdBefore, 'createdBefore');
  return selection;
}

/** The query of listJobs: its selection, page size and cursor text (checked by job-cursor.ts). */
export function toListQuery(query: unknown): { selection: JobSelection; limit: number; cursor?: string } {
  const selection = toJobSelection(query, JOB_STATUSES, QUERY_KEYS);
  const { limit = DEFAULT_LIST_LIMIT, cursor } = (query ?? {}) as ListJobsQuery;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw queryError(messages.invalidOption('limit', limit, `an integer from 1 to ${MAX_LIST_LIMIT}`));
  if (cursor !== undefined && typeof cursor !== 'string') throw queryError(messages.invalidOption('cursor', cursor, 'a string'));
  return { selection, limit, cursor };
}

/** Whether a bulk action's filter names anything: an empty one would act on every job. */
export function isEmptyFilter(filter: unknown): boolean {
  return typeof filter !== 'object' || filter === null || FILTER_FIELDS.every((field) => (filter as JobFilter)[field] === undefined);
}

function statusesOf(status: unknown, applicable: readonly JobStatus[]): JobStatus[] {
  if (status === undefined) return [...applicable];
  const given = Array.isArray(status) ? status : [status];
  const expected = `one of ${JOB_STATUSES.join(', ')}, or an array of them`;
  if (given.length === 0) throw queryError(messages.invalidOption('status', status, expected));
  for (const one of given) if (!JOB_STATUSES.includes(one as JobStatus)) throw queryError(messages.invalidOption('status', one, expected));
  return applicable.filter((one) => given.includes(one));
}

function validTime(value: unknown, option: string): Date {
  try {
    return validateRunAt(value, option);
  } catch (error) {
    throw queryError((error as Error).message);
  }
}

/** The statement timeout of a listing or a count, in milliseconds, or undefined for the server's own. */
export function toReadTimeout(options: unknown): number | undefined {
  if (typeof options !== 'object' || options === null) throw queryError(messages.invalidOption('options', options, 'an object'));
  refuseUnknownKeys(options, READ_KEYS, 'listJobs, countJobs and stats', queryError);
  const { timeoutMs } = options as ReadOptions;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > INT4_MAX))
    throw queryError(messages.invalidOption('timeoutMs', timeoutMs, `an integer of milliseconds from 1 to ${INT4_MAX}`));
  return timeoutMs;
}
