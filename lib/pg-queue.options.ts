import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { PgQueueConfigError } from './errors';
import { DEFAULT_LOG_LEVELS, QueueLogs } from './services/queue-logger';
import { messages } from './errors/messages';
import type { PgQueueModuleOptions, RetentionOptions, TelemetryOptions, WorkerOptions } from './interfaces';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_RETENTION,
  MAX_PAYLOAD_BYTES_LIMIT,
  DEFAULT_SCHEMA,
  MAX_RETENTION_MS,
} from './pg-queue.constants';
import { quoteSchema } from './db/identifiers';
import { checkConnectionString } from './validation/connection-string';
import { unknownOptions } from './validation/option-names';

/** Worker settings with every default filled in. */
export interface ResolvedWorkerOptions {
  enabled: boolean;
  concurrency: number;
  prefetch: number | 'auto';
  leaseMs: number;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
  synchronousCommit: boolean;
  schedules: boolean;
}

/** Retention with every default filled in. */
export type ResolvedRetention = Required<RetentionOptions>;

export interface ResolvedModuleOptions {
  schema: string;
  migrate: boolean;
  maxPayloadBytes: number;
  preparedStatements: boolean;
  /** The module's connections go through a transaction-mode pooler: no session state on them. */
  pooler?: 'transaction';
  /** Where the listener connects instead of through the pool. */
  listenConnectionString?: string;
  /** The worker's own statements commit asynchronously: `!worker.synchronousCommit`. */
  asyncWorkerCommits: boolean;
  queryTimeoutMs: number;
  /** undefined: wait for PostgreSQL as long as it takes. */
  connectTimeoutMs: number | undefined;
  worker: ResolvedWorkerOptions;
  retention: ResolvedRetention;
  telemetry: Required<TelemetryOptions>;
  /** Where the module's lines go, at which levels. */
  logs: QueueLogs;
}

/** Fills in defaults and rejects invalid module options at bootstrap, before any connection is made. */
export function resolveModuleOptions(options: PgQueueModuleOptions): ResolvedModuleOptions {
  if (typeof options !== 'object' || options === null) throw new PgQueueConfigError(messages.missingConnection());
  const worker = object<WorkerOptions>('worker', options.worker ?? {});
  const retention = object<RetentionOptions>('retention', options.retention ?? {});
  const telemetry = typeof options.telemetry === 'boolean' ? {} : object<TelemetryOptions>('telemetry', options.telemetry ?? {});
  const unknown = unknownOptions(options, worker, retention, telemetry);
  if (unknown.length > 0) throw new PgQueueConfigError(unknown.join(' '));
  if (options.connectionString === undefined && options.pool === undefined) throw new PgQueueConfigError(messages.missingConnection());
  if (options.connectionString !== undefined && options.pool !== undefined) throw new PgQueueConfigError(messages.bothConnections());
  if (options.connectionString !== undefined) checkConnectionString('connectionString', options.connectionString);
  if (options.pool !== undefined) checkPool(options.pool);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  const pooler = poolerOption(options.pooler);
  const concurrency = integer('worker.concurrency', worker.concurrency ?? 10, 1, 10_000);
  const synchronousCommit = flag('worker.synchronousCommit', worker.synchronousCommit ?? true);
  return {
    schema,
    migrate: flag('migrate', options.migrate ?? true),
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 1, MAX_PAYLOAD_BYTES_LIMIT),
    preparedStatements: preparedStatementsFor(options.preparedStatements, pooler),
    pooler,
    listenConnectionString: optionalConnectionString('listenConnectionString', options.listenConnectionString),
    asyncWorkerCommits: !synchronousCommit,
    queryTimeoutMs: integer('queryTimeoutMs', options.queryTimeoutMs ?? 30_000, 100),
    connectTimeoutMs: options.connectTimeoutMs == null ? undefined : integer('connectTimeoutMs', options.connectTimeoutMs, 0),
    worker: {
      enabled: flag('worker.enabled', worker.enabled ?? true),
      concurrency,
      prefetch: prefetch(worker.prefetch ?? 'auto'),
      leaseMs: integer('worker.leaseMs', worker.leaseMs ?? 30_000, 500),
      pollIntervalMs: integer('worker.pollIntervalMs', worker.pollIntervalMs ?? 1000, 10),
      shutdownTimeoutMs: integer('worker.shutdownTimeoutMs', worker.shutdownTimeoutMs ?? 10_000, 0),
      synchronousCommit,
      schedules: flag('worker.schedules', worker.schedules ?? true),
    },
    retention: resolveRetention(retention),
    logs: new QueueLogs(
      loggerOption(options.logger),
      logLevels(options.logLevels),
      flag('structuredLogs', options.structuredLogs ?? false),
    ),
    telemetry: {
      traces: options.telemetry !== false && flag('telemetry.traces', telemetry.traces ?? true),
      metrics: options.telemetry !== false && flag('telemetry.metrics', telemetry.metrics ?? true),
    },
  };
}

function resolveRetention(retention: RetentionOptions): ResolvedRetention {
  const keep = (key: 'completedMs' | 'failedMs' | 'cancelledMs') =>
    integer(`retention.${key}`, retention[key] ?? DEFAULT_RETENTION[key], 0, MAX_RETENTION_MS);
  return {
    completedMs: keep('completedMs'),
    failedMs: keep('failedMs'),
    cancelledMs: keep('cancelledMs'),
    pruneIntervalMs: integer('retention.pruneIntervalMs', retention.pruneIntervalMs ?? DEFAULT_RETENTION.pruneIntervalMs, 100),
  };
}

function loggerOption(value: unknown): LoggerService | null {
  if (value === false) return null;
  if (value === undefined) return new Logger();
  const methods = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (['log', 'error', 'warn'].some((level) => typeof methods[level] !== 'function'))
    throw new PgQueueConfigError(messages.invalidOption('logger', value, 'a LoggerService (log, error and warn methods) or false'));
  return value as LoggerService;
}

const LOG_LEVELS: readonly LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

function logLevels(value: unknown): readonly LogLevel[] {
  if (value === undefined) return DEFAULT_LOG_LEVELS;
  if (!Array.isArray(value) || value.some((level) => !LOG_LEVELS.includes(level as LogLevel)))
    throw new PgQueueConfigError(messages.invalidOption('logLevels', value, `an array of ${LOG_LEVELS.map((l) => `'${l}'`).join(', ')}`));
  return value as LogLevel[];
}

function checkPool(value: unknown): void {
  const pool = value as { query?: unknown; connect?: unknown } | null;
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function' || typeof pool.connect !== 'function')
    throw new PgQueueConfigError(messages.invalidOption('pool', value, 'a pg Pool'));
}

function object<T extends object>(option: string, value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PgQueueConfigError(messages.invalidOption(option, value, 'an object'));
  return value as T;
}

function poolerOption(value: unknown): 'transaction' | undefined {
  if (value === undefined || value === 'transaction') return value;
  throw new PgQueueConfigError(messages.invalidOption('pooler', value, "'transaction' (or no pooler option)"));
}

/** A transaction pooler runs each transaction on any server connection: one prepared on another would be missing. */
function preparedStatementsFor(value: unknown, behindPooler: 'transaction' | undefined): boolean {
  if (behindPooler && value === true)
    throw new PgQueueConfigError(messages.conflictingOptions(`pooler: '${behindPooler}'`, 'preparedStatements: true'));
  return flag('preparedStatements', value ?? !behindPooler);
}

function optionalConnectionString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  checkConnectionString(option, value);
  return value as string;
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
