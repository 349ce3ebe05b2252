import type { JobEventName } from '../interfaces';

export const JOB_EVENT_NAMES: readonly JobEventName[] = [
  'started',
  'progress',
  'completed',
  'retrying',
  'failed',
  'cancelled',
  'snoozed',
  'rescued',
];
