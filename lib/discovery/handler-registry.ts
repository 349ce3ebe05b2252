import { DuplicateJobHandlerError, PgQueueConfigError } from '../errors';
import { messages } from '../errors/messages';
import type { BackoffOptions } from '../interfaces';
import { validateJobType, validateMaxAttempts } from '../validation/job-input';
import { isStandardSchema } from '../validation/payload-schema';
import type { JobHandlerDefinition } from './job-handler.definition';
import { cronExpression } from '../schedule/schedule-planner';
import { validateTimeZone } from '../schedule/zoned-time';

/**
 * The handlers of this process, keyed by job type: empty until the explorer's finds are added at module init, and
 * read by the worker from then on. A second handler for a type fails the bootstrap.
 */
export class HandlerRegistry {
  private readonly byType = new Map<string, JobHandlerDefinition>();

  addAll(definitions: JobHandlerDefinition[]): void {
    definitions.forEach((definition) => this.add(definition));
    this.refuseDeadLetterCycles();
  }

  /** A → B → A would wrap a failure in a failure forever, each payload holding the last: refused at bootstrap. */
  private refuseDeadLetterCycles(): void {
    for (const start of this.byType.values()) {
      const seen = [start.type];
      for (let next = start.options.deadLetter; next !== undefined; next = this.byType.get(next)?.options.deadLetter) {
        if (seen.includes(next)) throw new PgQueueConfigError(messages.deadLetterCycle([...seen, next]));
        seen.push(next);
      }
    }
  }

  add(definition: JobHandlerDefinition): void {
    const existing = this.byType.get(definition.type);
    if (existing) throw new DuplicateJobHandlerError(messages.duplicateHandler(definition.type, existing.name, definition.name));
    validateHandler(definition);
    this.byType.set(definition.type, definition);
  }

  get(type: string): JobHandlerDefinition | undefined {
    return this.byType.get(type);
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }

  /** Each handled type with its dead-letter type (null: none), as AdminStore.declareDeadLetters takes them. */
  deadLetters(): [types: string[], targets: Array<string | null>] {
    const types = this.types;
    return [types, types.map((type) => this.byType.get(type)?.options.deadLetter ?? null)];
  }

  /** Handlers that declare a `cron` schedule. */
  get scheduled(): JobHandlerDefinition[] {
    return [...this.byType.values()].filter((definition) => definition.options.cron !== undefined);
  }
}

function validateHandler({ type, options, name }: JobHandlerDefinition): void {
  const at = (option: string) => `@JobHandler('${type}') on ${name}: ${option}`;
  const fail = (option: string, value: unknown, expected: string) => {
    throw new PgQueueConfigError(messages.invalidOption(at(option), value, expected));
  };
  try {
    validateJobType(type);
    if (options.maxAttempts !== undefined) validateMaxAttempts(options.maxAttempts);
    if (options.deadLetter !== undefined) validateJobType(options.deadLetter);
  } catch (error) {
    throw new PgQueueConfigError(`${at('')} ${(error as Error).message}`);
  }
  if (options.deadLetter === type) fail('deadLetter', options.deadLetter, 'another job type (a job would fail into itself)');
  if (options.concurrency !== undefined && !isPositiveInt(options.concurrency))
    fail('concurrency', options.concurrency, 'a positive integer');
  if (options.timeoutMs !== undefined && !isPositiveInt(options.timeoutMs))
    fail('timeoutMs', options.timeoutMs, 'a positive integer of milliseconds');
  if (options.timeoutMs !== undefined && options.timeoutMs > MAX_TIMER_MS)
    fail('timeoutMs', options.timeoutMs, `at most ${MAX_TIMER_MS} (a longer timer fires at once)`);
  if (options.cron !== undefined || options.timezone !== undefined || options.catchUp !== undefined) {
    try {
      if (options.cron === undefined) throw new Error('timezone and catchUp need a cron expression');
      cronExpression(options.cron, false);
      validateTimeZone(options.timezone ?? 'UTC');
      if (options.catchUp !== undefined && options.catchUp !== 'skip' && options.catchUp !== 'last')
        throw new Error('catchUp must be skip or last');
    } catch (error) {
      throw new PgQueueConfigError(`${at('cron')} ${(error as Error).message}`);
    }
  }
  if (options.schema !== undefined && !isStandardSchema(options.schema))
    fail('schema', options.schema, 'a Standard Schema v1 object (zod, valibot, arktype...)');
  const backoff = options.backoff;
  if (backoff !== undefined && typeof backoff !== 'function') {
    if (typeof backoff !== 'object' || backoff === null) return fail('backoff', backoff, 'an object or a function');
    for (const key of ['baseMs', 'maxMs'] as const satisfies ReadonlyArray<keyof BackoffOptions>) {
      const value = backoff[key];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) fail(`backoff.${key}`, value, 'a number of milliseconds >= 0');
    }
  }
}

/** setTimeout fires at once for longer delays. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const isPositiveInt = (value: unknown) => Number.isInteger(value) && (value as number) >= 1;
