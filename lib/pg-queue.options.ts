import { PgQueueConfigError } from './errors';
import { messages } from './errors/messages';
import type { PgQueueModuleOptions, RetentionOptions } from './interfaces';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_RETENTION,
  MAX_PAYLOAD_BYTES_LIMIT,
  DEFAULT_SCHEMA,
  MAX_RETENTION_MS,
} from './pg-queue.constants';
import { quoteSchema } from './db/identifiers';

/** Worker settings with every default filled in. */
export interface ResolvedWorkerOptions {
  enabled: boolean;
  concurrency: number;
  prefetch: number | 'auto';
  leaseMs: number;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
}

/** Retention with every default filled in. */
export type ResolvedRetention = Required<RetentionOptions>;

export interface ResolvedModuleOptions {
  schema: string;
  migrate: boolean;
  maxPayloadBytes: number;
  preparedStatements: boolean;
  queryTimeoutMs: number;
  worker: ResolvedWorkerOptions;
  retention: ResolvedRetention;
}

/** Fills in defaults and rejects invalid module options at bootstrap, before any connection is made. */
export function resolveModuleOptions(options: PgQueueModuleOptions): ResolvedModuleOptions {
  if (!options || (options.connectionString === undefined && options.pool === undefined))
    throw new PgQueueConfigError(messages.missingConnection());
  if (options.connectionString !== undefined && options.pool !== undefined) throw new PgQueueConfigError(messages.bothConnections());
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  const worker = options.worker ?? {};
  const concurrency = integer('worker.concurrency', worker.concurrency ?? 10, 1, 10_000);
  return {
    schema,
    migrate: options.migrate ?? true,
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 1, MAX_PAYLOAD_BYTES_LIMIT),
    preparedStatements: flag('preparedStatements', options.preparedStatements ?? true),
    queryTimeoutMs: integer('queryTimeoutMs', options.queryTimeoutMs ?? 30_000, 100),
    worker: {
      enabled: worker.enabled ?? true,
      concurrency,
      prefetch: prefetch(worker.prefetch ?? 'auto'),
      leaseMs: integer('worker.leaseMs', worker.leaseMs ?? 30_000, 500),
      pollIntervalMs: integer('worker.pollIntervalMs', worker.pollIntervalMs ?? 1000, 10),
      shutdownTimeoutMs: integer('worker.shutdownTimeoutMs', worker.shutdownTimeoutMs ?? 10_000, 0),
    },
    retention: resolveRetention(options.retention ?? {}),
  };
}

function resolveRetention(retention: RetentionOptions): ResolvedRetention {
  if (typeof retention !== 'object' || retention === null)
    throw new PgQueueConfigError(messages.invalidOption('retention', retention, 'an object'));
  // A misspelt key would otherwise silently keep the default, and with it every finished job.
  for (const key of Object.keys(retention)) {
    if (!(key in DEFAULT_RETENTION))
      throw new PgQueueConfigError(
        messages.invalidOption(`retention.${key}`, (retention as Record<string, unknown>)[key], 'no such option'),
      );
  }
  const keep = (key: 'completedMs' | 'failedMs' | 'cancelledMs') =>
    integer(`retention.${key}`, retention[key] ?? DEFAULT_RETENTION[key], 0, MAX_RETENTION_MS);
  return {
    completedMs: keep('completedMs'),
    failedMs: keep('failedMs'),
    cancelledMs: keep('cancelledMs'),
    pruneIntervalMs: integer('retention.pruneIntervalMs', retention.pruneIntervalMs ?? DEFAULT_RETENTION.pruneIntervalMs, 100),
  };
}

function integer(option: string, value: unknown, min: number, max = 2 ** 31 - 1, expected = `an integer from ${min} to ${max}`): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new PgQueueConfigError(messages.invalidOption(option, value, expected));
  }
  return value as number;
}

function prefetch(value: unknown): number | 'auto' {
  return value === 'auto' ? value : integer('worker.prefetch', value, 0, 10_000, "'auto' or an integer from 0 to 10000");
}

function flag(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new PgQueueConfigError(messages.invalidOption(option, value, 'true or false'));
  return value;
}
