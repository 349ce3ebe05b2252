import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';

/** What a line about one job carries, as fields when logs are structured. */
export interface JobLogFields {
  jobId: string;
  jobType: string;
  attempt?: number;
}

/** The levels the module writes unless told otherwise: not the line per attempt that 'debug' adds. */
export const DEFAULT_LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'log'];

/**
 * Where the module's lines go (the `logger`, `logLevels` and `structuredLogs` options), one per module instance. By
 * default that is Nest's Logger, which writes through the application's logger (`app.useLogger()`, nestjs-pino...).
 */
export class QueueLogs {
  private readonly levels: ReadonlySet<LogLevel>;

  constructor(
    /** Null: the module writes nothing. */
    private readonly sink: LoggerService | null = new Logger(),
    levels: readonly LogLevel[] = DEFAULT_LOG_LEVELS,
    /** Lines about a job are `{ msg, jobId, jobType, attempt }` objects, which JSON loggers index by field. */
    readonly structured = false,
  ) {
    this.levels = new Set(levels);
  }

  /** Whether lines of `level` are written at all: a caller can skip building them. */
  isEnabled(level: LogLevel): boolean {
    return this.sink !== null && this.levels.has(level);
  }

  /** A logger for one part of the module, named by `context` ('PgQueueWorker'). */
  for(context: string): QueueLogger {
    return new QueueLogger(this, context);
  }

  /** A logger whose lines are about one job: its context names the job (`PgQueue:report.generate #42`). */
  forJob(job: { id: string; type: string; attempt?: number }): QueueLogger {
    return new QueueLogger(this, `PgQueue:${job.type} #${job.id}`, { jobId: job.id, jobType: job.type, attempt: job.attempt });
  }

  /** Writes one line, when its level is on. Nest's convention: the context comes last. */
  write(level: LogLevel, context: string, fields: JobLogFields | undefined, message: unknown, params: unknown[]): void {
    if (this.sink === null || !this.levels.has(level)) return;
    const write = this.sink[level]?.bind(this.sink) ?? this.sink.log.bind(this.sink);
    const line = fields && this.structured && typeof message === 'string' ? { msg: message, ...fields } : message;
    try {
      write(line, ...params, context);
    } catch {
      // A logger that throws must not fail the job or the worker it writes about; there is nowhere left to say so.
    }
  }
}

/** A LoggerService for one context, writing through the module's QueueLogs. */
export class QueueLogger implements LoggerService {
  constructor(
    private readonly logs: QueueLogs,
    readonly context: string,
    private readonly fields?: JobLogFields,
  ) {}

  log(message: unknown, ...params: unknown[]): void {
    this.logs.write('log', this.context, this.fields, message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.logs.write('error', this.context, this.fields, message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.logs.write('warn', this.context, this.fields, message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.logs.write('debug', this.context, this.fields, message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.logs.write('verbose', this.context, this.fields, message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.logs.write('fatal', this.context, this.fields, message, params);
  }
}
