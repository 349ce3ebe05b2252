import { InvalidSchemaNameError } from '../errors';
import { messages } from '../errors/messages';

// Lowercase only (no case-folding surprises) and short enough that derived channel names stay under 63 bytes.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** Validates a schema name and returns it double-quoted; the one place an identifier enters SQL text. */
export function quoteSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) throw new InvalidSchemaNameError(messages.invalidSchemaName(schema));
  return `"${schema}"`;
}

/** NOTIFY channels of one schema. The `new` channel name is also built by the insert trigger of migration 001. */
export function channelsFor(schema: string) {
  return {
    newJobs: `${schema}:new`,
    events: `${schema}:events`,
    cancel: `${schema}:cancel`,
    /** Job events for QueueService.events(), published only while someone subscribes. */
    jobEvents: `${schema}:job-events`,
    /** A process subscribed to job events: workers start publishing them. */
    subscribers: `${schema}:subscribers`,
  };
}
export type Channels = ReturnType<typeof channelsFor>;
