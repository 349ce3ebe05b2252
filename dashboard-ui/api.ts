/** The dashboard's JSON API (lib/dashboard/dashboard-api.controller.ts), from the page it serves. */

export interface Job {
  id: string;
  type: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  priority: number;
  queue: string | null;
  payload: unknown;
  progress: number;
  stage: string | null;
  attempts: number;
  maxAttempts: number | null;
  runAt: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  lastError: string | null;
  result: unknown;
  jobKey: string | null;
}

export interface TypeStats {
  type: string;
  paused: boolean;
  counts: Partial<Record<Job['status'], number>>;
  lagMs: number | null;
  completedLastMinute: number;
  failedLastMinute: number;
}

export interface Schedule {
  name: string;
  cron: string;
  type: string;
  nextRunAt: string | null;
}

/** Where the dashboard is mounted, from the page's own markup. */
export const base = document.getElementById('app')?.dataset.base ?? '/queues';

let csrfToken: string | undefined;
let readOnly = false;

export async function startSession(): Promise<{ readOnly: boolean }> {
  const session = await get<{ readOnly: boolean; csrfToken: string }>('session');
  csrfToken = session.csrfToken;
  readOnly = session.readOnly;
  return { readOnly };
}

export const isReadOnly = () => readOnly;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${base}/api/${path}`, { credentials: 'same-origin', ...init });
  const body = (await response.json().catch(() => ({}))) as { message?: string | string[] };
  if (!response.ok) throw new ApiError(response.status, [body.message ?? response.statusText].flat().join(' '));
  return body as T;
}

export const get = <T>(path: string) => call<T>(path);

/** An action: carries the session's token, as the server requires. */
export const act = <T>(method: 'POST' | 'DELETE', path: string, body?: unknown) =>
  call<T>(path, {
    method,
    headers: { 'x-pgqueue-csrf': csrfToken ?? '', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** A query string of the filter fields that are set. */
export function query(fields: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value) params.set(key, value);
  return params.toString();
}
