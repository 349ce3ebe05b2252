import { InvalidJobQueryError } from '../errors';
import { messages } from '../errors/messages';
import type { JobEvent, JobEventFilter } from '../interfaces';
import { validateJobType } from '../validation/job-input';
import { refuseUnknownKeys } from '../validation/known-keys';
import { matchesType } from './job-event-bus';
import { JOB_EVENT_NAMES } from './job-event-names';

const FILTER_KEYS = new Set(['event', 'type']);

/** Checks a filter of QueueService.events() and turns it into a test of each event, or throws a typed error. */
export function toEventFilter(filter: unknown): (event: JobEvent) => boolean {
  if (typeof filter !== 'object' || filter === null) throw new InvalidJobQueryError(messages.invalidOption('filter', filter, 'an object'));
  refuseUnknownKeys(filter, FILTER_KEYS, 'an event filter', (message) => new InvalidJobQueryError(message));
  const { event, type } = filter as JobEventFilter;
  const events = event === undefined ? undefined : Array.isArray(event) ? event : [event];
  for (const name of events ?? [])
    if (!JOB_EVENT_NAMES.includes(name))
      throw new InvalidJobQueryError(messages.invalidOption('event', name, `one of ${JOB_EVENT_NAMES.join(', ')}`));
  const types = type === undefined ? undefined : Array.isArray(type) ? type.map(validateJobType) : validateJobType(type);
  return (candidate) => (events === undefined || events.includes(candidate.event)) && matchesType(types, candidate.job.type);
}
