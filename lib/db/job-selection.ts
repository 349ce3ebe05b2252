import type { JobStatus } from '../interfaces';

/**
 * Which jobs a listing, a count or an action reads, validated (operations/job-filter-input.ts). Each value becomes a
 * $n parameter of the statement built from it (sql/job-selection-sql.ts).
 */
export interface JobSelection {
  /** At least one, in the order of JOB_STATUSES. */
  statuses: readonly JobStatus[];
  id?: string;
  type?: string;
  queue?: string;
  jobKey?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
