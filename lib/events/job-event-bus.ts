import type { QueueLogger } from '../services/queue-logger';
import type { ClaimedJobRow } from '../db/job-row';
import type { JobEventListenerDefinition } from './job-event-listener.definition';
import { PgQueueConfigError } from '../errors';
import { messages } from '../errors/messages';
import type { JobEvent, JobEventName } from '../interfaces';
import type { EventPublisher } from './event-publisher';
import type { ThroughputRecorder } from './throughput-recorder';
import { JOB_EVENT_NAMES } from './job-event-names';

/** What an event adds to the job it is about. */
export type JobEventDetails = Omit<JobEvent, 'event' | 'job' | 'at'>;

/**
 * Where the worker tells what happens to its jobs: to this process's @OnJobEvent listeners, and through the publisher
 * to QueueService.events() subscribers anywhere, and completions and failures to the throughput counts. Listeners run after the current turn of the event loop, never
 * awaited: a listener cannot delay a claim or an outcome write, and one that throws is logged and changes nothing.
 * With no listener and no subscriber, emitting builds nothing.
 */
export class JobEventBus {
  private listeners: JobEventListenerDefinition[] = [];

  constructor(
    private readonly logger: QueueLogger,
    private readonly publisher: EventPublisher | null,
    private readonly throughput: ThroughputRecorder | null = null,
  ) {}

  /** Validated at module init: an unknown event name is a typo that would never fire. */
  setListeners(listeners: JobEventListenerDefinition[]): void {
    for (const { name, events } of listeners) {
      const unknown = events.find((event) => !JOB_EVENT_NAMES.includes(event));
      if (unknown !== undefined || events.length === 0)
        throw new PgQueueConfigError(messages.invalidOption(`@OnJobEvent on ${name}`, unknown, `one of ${JOB_EVENT_NAMES.join(', ')}`));
    }
    this.listeners = listeners;
  }

  /** Tells of `event` about the job of `row`, as of its current attempt. */
  emit(event: JobEventName, row: Pick<ClaimedJobRow, 'id' | 'type' | 'attempts' | 'max_attempts'>, details: JobEventDetails = {}): void {
    if (event === 'completed' || event === 'failed') this.throughput?.record(row.type, event);
    const publishing = this.publisher?.publishing ?? false;
    if (this.listeners.length === 0 && !publishing) return;
    const job = { id: row.id, type: row.type, attempt: row.attempts, maxAttempts: row.max_attempts };
    const built: JobEvent = { event, job, at: new Date(), ...details };
    if (publishing) this.publisher?.add(built);
    if (this.listeners.length > 0) setImmediate(() => this.dispatch(built));
  }

  private dispatch(event: JobEvent): void {
    for (const listener of this.listeners) {
      if (!listener.events.includes(event.event) || !matchesType(listener.types, event.job.type)) continue;
      listener
        .invoke(event)
        .catch((error: unknown) =>
          this.logger.error(
            `@OnJobEvent listener ${listener.name} threw on ${event.event} of job #${event.job.id}; nothing else changes: ${textOf(error)}`,
          ),
        );
    }
  }
}

export function matchesType(types: string | string[] | undefined, type: string): boolean {
  return types === undefined || (Array.isArray(types) ? types.includes(type) : types === type);
}

/** A thrown value as text, whatever it is (reading a hostile one may throw too). */
function textOf(error: unknown): string {
  try {
    return error instanceof Error ? (error.stack ?? error.message) : String(error);
  } catch {
    return 'a value that cannot be shown';
  }
}
