import { Logger, type LoggerService } from '@nestjs/common';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

/**
 * Records what every Nest Logger of this process prints (the module's own loggers included), until restore().
 * Lines are also kept quiet: a test that expects a warning does not print it.
 */
export class LogCapture implements LoggerService {
  readonly lines: LogLine[] = [];
  private readonly previous = (Logger as unknown as { staticInstanceRef?: LoggerService }).staticInstanceRef;

  constructor() {
    Logger.overrideLogger(this);
  }

  log = (message: unknown, ...rest: unknown[]) => this.push('log', message, rest);
  error = (message: unknown, ...rest: unknown[]) => this.push('error', message, rest);
  warn = (message: unknown, ...rest: unknown[]) => this.push('warn', message, rest);
  debug = (message: unknown, ...rest: unknown[]) => this.push('debug', message, rest);
  verbose = (message: unknown, ...rest: unknown[]) => this.push('verbose', message, rest);
  fatal = (message: unknown, ...rest: unknown[]) => this.push('fatal', message, rest);

  /** Messages at `level` (any level when omitted) that contain `text`. */
  matching(text: string | RegExp, level?: LogLine['level']): LogLine[] {
    return this.lines.filter(
      (line) => (!level || line.level === level) && (typeof text === 'string' ? line.message.includes(text) : text.test(line.message)),
    );
  }

  restore(): void {
    Logger.overrideLogger(this.previous as LoggerService);
  }

  private push(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({ level, message: typeof message === 'string' ? message : String(message), context });
  }
}
