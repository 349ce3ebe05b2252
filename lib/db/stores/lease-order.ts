import type { JobLease } from '../job-writes';

/** Orders int8 ids given as strings without converting them to numbers. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Rows are locked in id order by every statement, so two statements of one process never deadlock. */
export const byId = <T extends JobLease>(leases: T[]): T[] => [...leases].sort((a, b) => compareIds(a.id, b.id));
export const idsOf = (leases: JobLease[]): string[] => leases.map((lease) => lease.id);
export const tokensOf = (leases: JobLease[]): string[] => leases.map((lease) => lease.token);
