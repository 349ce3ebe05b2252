import { JOB_EVENT_NAMES } from './job-event-names';
import type { JobEvent, JobEventName } from '../interfaces';

/**
 * A job event as a notification carries it between processes: names, ids and numbers only, never user data (payload,
 * result, error text, stage), which a subscriber reads from the job's row. [event, id, type, attempt, maxAttempts,
 * at (epoch ms), progress, delayMs].
 */
export type WireEvent = [JobEventName, string, string, number, number | null, number, number | null, number | null];

/** PostgreSQL takes notification payloads under 8,000 bytes. */
const MAX_PAYLOAD_BYTES = 7500;

export function toWire({ event, job, at, progress, delayMs }: JobEvent): WireEvent {
  return [event, job.id, job.type, job.attempt, job.maxAttempts, at.getTime(), progress ?? null, delayMs ?? null];
}

/** Events into as few payloads as fit, in order. */
export function toPayloads(events: WireEvent[]): string[] {
  const payloads: string[] = [];
  let current: string[] = [];
  let bytes = 2;
  for (const event of events) {
    const json = JSON.stringify(event);
    if (current.length > 0 && bytes + json.length + 1 > MAX_PAYLOAD_BYTES) {
      payloads.push(`[${current.join(',')}]`);
      current = [];
      bytes = 2;
    }
    current.push(json);
    bytes += Buffer.byteLength(json) + 1;
  }
  if (current.length > 0) payloads.push(`[${current.join(',')}]`);
  return payloads;
}

/** The events of one payload; what is not a well-formed event is left out (a notification is not trusted input). */
export function fromPayload(payload: string): WireEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter(isWireEvent) : [];
}

function isWireEvent(value: unknown): value is WireEvent {
  return (
    Array.isArray(value) &&
    value.length === 8 &&
    JOB_EVENT_NAMES.includes(value[0] as JobEventName) &&
    typeof value[1] === 'string' &&
    typeof value[2] === 'string' &&
    typeof value[3] === 'number' &&
    typeof value[5] === 'number'
  );
}
