import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { QueueGauge } from '../db/stores/admin-store';
import { NO_TELEMETRY, type JobTelemetry } from './job-telemetry';
import { OpenTelemetryJobs } from './open-telemetry-jobs';

/**
 * The queue's telemetry: through `@opentelemetry/api` when the application has it installed (an optional peer
 * dependency, loaded only here), nothing otherwise or when both parts are off. Traces follow the SDK whenever it is
 * registered; metric instruments are created now, so the SDK's MeterProvider must be registered before the app is.
 */
export function loadTelemetry(parts: { traces: boolean; metrics: boolean }, readGauges: () => Promise<QueueGauge[]>): JobTelemetry {
  if (!parts.traces && !parts.metrics) return NO_TELEMETRY;
  const api = openTelemetryApi();
  return api ? new OpenTelemetryJobs(api, parts, readGauges) : NO_TELEMETRY;
}

function openTelemetryApi(): typeof OpenTelemetryApi | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer dependency: absent is fine
    return require('@opentelemetry/api') as typeof OpenTelemetryApi;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
}
