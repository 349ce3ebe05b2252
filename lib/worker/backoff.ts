import type { BackoffFunction, BackoffOptions } from '../interfaces';

const DEFAULTS: Required<BackoffOptions> = { baseMs: 1000, maxMs: 3_600_000, jitter: true };
/** Keeps computed delays inside what timestamptz arithmetic and the database comfortably take. */
const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;

/** Delay before the attempt after `attempt` (1-based) failed with `error`. */
export function retryDelayMs(backoff: BackoffOptions | BackoffFunction | undefined, attempt: number, error: unknown): number {
  if (typeof backoff === 'function') {
    const ms = Number(backoff(attempt, error));
    return Number.isFinite(ms) ? clamp(ms) : 0;
  }
  const { baseMs, maxMs, jitter } = { ...DEFAULTS, ...backoff };
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  // "Equal jitter": at least half the delay, so retries spread out yet never come back at once.
  return clamp(jitter ? exponential / 2 + Math.random() * (exponential / 2) : exponential);
}

const clamp = (ms: number) => Math.max(0, Math.min(MAX_DELAY_MS, Math.round(ms)));
