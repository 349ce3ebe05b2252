import type { ListJobsQuery } from '../interfaces';

/** A query string as both HTTP platforms parse it. */
export type QueryString = Record<string, string | string[] | undefined>;

const TIMES = new Set(['createdAfter', 'createdBefore']);

/**
 * A listing's query from the URL: `status` comma-separated or repeated, times as ISO text, `limit` a number. Anything
 * else is passed on as it is, so that listJobs refuses it with its own typed error (answered 400).
 */
export function toListQuery(query: QueryString): ListJobsQuery {
  const parsed: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(query)) {
    if (raw === undefined || raw === '') continue;
    const value = Array.isArray(raw) ? raw : [raw];
    if (key === 'status') parsed.status = value.flatMap((one) => one.split(','));
    else if (key === 'limit') parsed.limit = Number(value[0]);
    else if (TIMES.has(key)) parsed[key] = new Date(value[0]);
    else parsed[key] = value.length === 1 ? value[0] : value;
  }
  return parsed;
}
