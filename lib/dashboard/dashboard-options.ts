import type { JobSnapshot } from '../interfaces';

/** The request as the dashboard's `auth` sees it: Express's or Fastify's, whichever the application runs on. */
export interface DashboardRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  [key: string]: unknown;
}

/** Options of `PgQueueDashboardModule.forRoot()`. */
export interface PgQueueDashboardOptions {
  /** Where the dashboard lives. @default '/queues' */
  path?: string;
  /**
   * Who may use it: true lets the request in, false answers 401. Throw an HttpException (e.g. ForbiddenException)
   * for another status. `'none'` opens it to everyone who can reach the path, and says so in a warning at boot.
   */
  auth: ((request: DashboardRequest) => boolean | Promise<boolean>) | 'none';
  /** Every action (retry, cancel, delete, promote, pause, resume) answers 403, whatever the UI shows. @default false */
  readOnly?: boolean;
  /** Hides what should not be shown (secrets in payloads, results, errors) from every job the dashboard returns. */
  redact?: (job: JobSnapshot) => JobSnapshot;
  /** The same for each stored log line (`ctx.log`) the dashboard shows. */
  redactLog?: (message: string) => string;
  /** PostgreSQL cancels a listing or a count of the dashboard after this long. @default 5000 */
  queryTimeoutMs?: number;
}

export interface ResolvedDashboardOptions {
  path: string;
  auth: PgQueueDashboardOptions['auth'];
  readOnly: boolean;
  redact: (job: JobSnapshot) => JobSnapshot;
  redactLog: (message: string) => string;
  queryTimeoutMs: number;
}

export const DASHBOARD_OPTIONS = Symbol('PGQUEUE_DASHBOARD_OPTIONS');
