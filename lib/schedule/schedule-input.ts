import { InvalidScheduleError } from '../errors';
import { messages } from '../errors/messages';
import type { CatchUpPolicy, ScheduleOptions } from '../interfaces';
import { DEFAULT_PRIORITY } from '../pg-queue.constants';
import {
  serializePayload,
  validateJobType,
  validateMaxAttempts,
  validatePriority,
  validateQueueName,
  validateRunAt,
} from '../validation/job-input';
import { refuseUnknownKeys } from '../validation/known-keys';
import { cronExpression, firstSlot } from './schedule-planner';
import type { ScheduleWrite } from '../db/stores/schedule-store';
import { validateTimeZone } from './zoned-time';

/** Schedule names follow the rules of queue names; a bad one is a schedule error, not a key error. */
export function validateScheduleName(name: unknown): string {
  try {
    return validateQueueName(name, 'schedule name');
  } catch (error) {
    throw new InvalidScheduleError((error as Error).message);
  }
}

const OPTION_KEYS = new Set(['timezone', 'seconds', 'catchUp', 'startAt', 'endAt', 'priority', 'maxAttempts', 'queue']);
const CATCH_UP: readonly CatchUpPolicy[] = ['skip', 'last'];

export interface ScheduleInput {
  name: string;
  cron: string;
  type: string;
  payload: unknown;
  options: ScheduleOptions;
  declaredIn: 'runtime' | 'code';
}

/**
 * Validates a schedule and returns it ready to be stored, with its first slot after
 * `nowMs` (database time). Throws a typed error before anything is written.
 */
export function toScheduleWrite(input: ScheduleInput, nowMs: number, maxPayloadBytes: number): ScheduleWrite {
  const { options } = input;
  if (typeof options !== 'object' || options === null)
    throw new InvalidScheduleError(messages.invalidOption('options', options, 'an object'));
  refuseUnknownKeys(options, OPTION_KEYS, 'schedule()', (message) => new InvalidScheduleError(message));
  const name = validateScheduleName(input.name);
  const seconds = options.seconds ?? false;
  if (typeof seconds !== 'boolean') throw new InvalidScheduleError(messages.invalidOption('seconds', seconds, 'a boolean'));
  const cron = cronExpression(input.cron, seconds);
  const zone = validateTimeZone(options.timezone ?? 'UTC');
  const catchUp = options.catchUp ?? 'skip';
  if (!CATCH_UP.includes(catchUp))
    throw new InvalidScheduleError(messages.invalidOption('catchUp', catchUp, `one of ${CATCH_UP.join(', ')}`));
  const startAt = options.startAt === undefined ? null : validateRunAt(options.startAt, 'startAt');
  const endAt = options.endAt === undefined ? null : validateRunAt(options.endAt, 'endAt');
  if (startAt && endAt && endAt <= startAt) throw new InvalidScheduleError(messages.invalidOption('endAt', endAt, 'a Date after startAt'));
  return {
    name,
    cron: input.cron,
    seconds,
    timeZone: zone,
    type: validateJobType(input.type),
    payload: serializePayload(input.payload, maxPayloadBytes),
    priority: options.priority === undefined ? DEFAULT_PRIORITY : validatePriority(options.priority),
    maxAttempts: options.maxAttempts === undefined ? null : validateMaxAttempts(options.maxAttempts),
    queue: options.queue === undefined ? null : validateQueueName(options.queue),
    catchUp,
    startsAt: startAt,
    endsAt: endAt,
    nextRunAt: firstSlot(cron, zone, nowMs, startAt, endAt),
    declaredIn: input.declaredIn,
  };
}
