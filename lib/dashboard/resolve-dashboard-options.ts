import { PgQueueConfigError } from '../errors';
import { messages } from '../errors/messages';
import { refuseUnknownKeys } from '../validation/known-keys';
import type { PgQueueDashboardOptions, ResolvedDashboardOptions } from './dashboard-options';

const KEYS = new Set(['path', 'auth', 'readOnly', 'redact', 'redactLog', 'queryTimeoutMs']);
/** Segments of letters, digits, `-` and `_`: a path that needs no escaping in a route, a cookie or a page. */
const PATH = /^(\/[A-Za-z0-9_-]+)+$/;

/** Checks the options of PgQueueDashboardModule.forRoot() at bootstrap; `auth` is required. */
export function resolveDashboardOptions(options: PgQueueDashboardOptions): ResolvedDashboardOptions {
  const fail = (option: string, value: unknown, expected: string) => {
    throw new PgQueueConfigError(messages.invalidOption(`PgQueueDashboardModule ${option}`, value, expected));
  };
  if (typeof options !== 'object' || options === null) return fail('options', options, 'an object with auth');
  refuseUnknownKeys(options, KEYS, 'PgQueueDashboardModule.forRoot()', (message) => new PgQueueConfigError(message));
  const { path = '/queues', auth, readOnly = false, redact = (job) => job, redactLog = (line) => line, queryTimeoutMs = 5000 } = options;
  if (typeof path !== 'string' || !PATH.test(path)) fail('path', path, "a path such as '/queues' (letters, digits, - and _)");
  if (typeof auth !== 'function' && auth !== 'none')
    fail('auth', auth, "a function (request) => boolean | Promise<boolean>, or 'none' to let everyone in");
  if (typeof readOnly !== 'boolean') fail('readOnly', readOnly, 'a boolean');
  if (typeof redact !== 'function') fail('redact', redact, 'a function (job) => job');
  if (typeof redactLog !== 'function') fail('redactLog', redactLog, 'a function (message) => message');
  if (!Number.isInteger(queryTimeoutMs) || queryTimeoutMs < 1) fail('queryTimeoutMs', queryTimeoutMs, 'a positive integer of milliseconds');
  return { path, auth, readOnly, redact, redactLog, queryTimeoutMs };
}
