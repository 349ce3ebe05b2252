import { messages } from '../errors/messages';
import { InvalidJobIdError, InvalidJobKeyError, InvalidJobOptionError, InvalidJobTypeError, InvalidPayloadError } from '../errors';
import type { JobKeyMode } from '../interfaces';
import { toPlainJson } from './json-value';

const JOB_TYPE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
const JOB_ID = /^[1-9][0-9]{0,18}$/;
const INT4_MIN = -2147483648;
const INT4_MAX = 2147483647;
const INT8_MAX = 9223372036854775807n;
/** About 100 years: far enough for any delayed job, small enough for timestamptz arithmetic. */
const MAX_DELAY_MS = 100 * 365 * 24 * 3600 * 1000;

export function validateJobType(type: unknown): string {
  if (typeof type !== 'string') throw new InvalidJobTypeError(messages.invalidJobType(type, 'not a string'));
  if (!JOB_TYPE.test(type))
    throw new InvalidJobTypeError(messages.invalidJobType(type, 'empty, too long or with a character outside the allowed set'));
  return type;
}

export function validateJobId(id: unknown): string {
  if (typeof id !== 'string' || !JOB_ID.test(id) || BigInt(id) > INT8_MAX) throw new InvalidJobIdError(messages.invalidJobId(id));
  return id;
}

export function serializePayload(payload: unknown, maxBytes: number): string {
  const json = toPlainJson(payload, (path, why) => new InvalidPayloadError(messages.invalidPayload(path, why)));
  // A UTF-16 unit takes at most 3 bytes of UTF-8: only a long text needs counting.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) throw new InvalidPayloadError(messages.payloadTooLarge(bytes, maxBytes));
  }
  return json;
}

export function validatePriority(priority: unknown): number {
  if (!Number.isInteger(priority) || (priority as number) < INT4_MIN || (priority as number) > INT4_MAX) {
    throw new InvalidJobOptionError(messages.invalidOption('priority', priority, `an integer from ${INT4_MIN} to ${INT4_MAX}`));
  }
  return (priority as number) || 0; // -0 is stored as 0
}

export function validateMaxAttempts(maxAttempts: unknown, option = 'maxAttempts'): number {
  if (!Number.isInteger(maxAttempts) || (maxAttempts as number) < 1 || (maxAttempts as number) > INT4_MAX) {
    throw new InvalidJobOptionError(messages.invalidOption(option, maxAttempts, 'an integer of at least 1'));
  }
  return maxAttempts as number;
}

/** Years PostgreSQL's timestamptz and everyday arithmetic on it handle without surprises. */
const MIN_TIME = Date.UTC(1000, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31);

export function validateRunAt(runAt: unknown, option = 'runAt'): Date {
  if (!(runAt instanceof Date) || Number.isNaN(runAt.getTime()) || runAt.getTime() < MIN_TIME || runAt.getTime() > MAX_TIME) {
    throw new InvalidJobOptionError(messages.invalidOption(option, runAt, 'a valid Date between the years 1000 and 9999'));
  }
  return runAt;
}

export function validateDelayMs(delayMs: unknown): number {
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new InvalidJobOptionError(messages.invalidOption('delayMs', delayMs, `a number of milliseconds from 0 to ${MAX_DELAY_MS}`));
  }
  return delayMs;
}

/** Keys and queue names go into btree indexes: bounded well below PostgreSQL's ~2,700-byte entry limit. */
const MAX_KEY_CHARS = 512;
const MAX_QUEUE_CHARS = 128;
const JOB_KEY_MODES: readonly JobKeyMode[] = ['dedupe', 'replace'];

/** Both would be stored as U+FFFD, so two different keys or queue names could silently become one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function validateJobKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_CHARS || key.includes('\u0000') || LONE_SURROGATE.test(key)) {
    throw new InvalidJobKeyError(
      messages.invalidOption('jobKey', key, `a string of 1 to ${MAX_KEY_CHARS} characters without NUL or lone surrogates`),
    );
  }
  return key;
}

export function validateJobKeyMode(mode: unknown): JobKeyMode {
  if (!JOB_KEY_MODES.includes(mode as JobKeyMode)) {
    throw new InvalidJobKeyError(messages.invalidOption('jobKeyMode', mode, `one of ${JOB_KEY_MODES.join(', ')}`));
  }
  return mode as JobKeyMode;
}

export function validateQueueName(queue: unknown, option = 'queue'): string {
  if (
    typeof queue !== 'string' ||
    queue.length === 0 ||
    queue.length > MAX_QUEUE_CHARS ||
    /[\u0000-\u001f]/.test(queue) ||
    LONE_SURROGATE.test(queue)
  ) {
    throw new InvalidJobKeyError(
      messages.invalidOption(option, queue, `a string of 1 to ${MAX_QUEUE_CHARS} characters without control characters or lone surrogates`),
    );
  }
  return queue;
}
