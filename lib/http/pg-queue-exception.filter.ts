import { Catch, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { isStatementTimeout } from '../db/pg-errors';
import { PgQueueError } from '../errors';
import { toHttpException } from './http-errors';

/**
 * Answers the package's errors that reach a controller with their HTTP status (see toHttpException) instead of a
 * 500: `app.useGlobalFilters(new PgQueueExceptionFilter(app.get(HttpAdapterHost).httpAdapter))`, or
 * `{ provide: APP_FILTER, useClass: PgQueueExceptionFilter }`, or `@UseFilters(PgQueueExceptionFilter)`. Express and
 * Fastify alike: Nest's own filter writes the answer. A read cut short by its `timeoutMs` (PostgreSQL's statement
 * timeout) counts as the package's. Every other error, and every error outside HTTP, goes on as if the filter were
 * not there.
 */
@Catch()
export class PgQueueExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('PgQueue');

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    if (!(error instanceof PgQueueError) && !isStatementTimeout(error)) return super.catch(error, host);
    const http = toHttpException(error);
    if (http.getStatus() >= 500)
      this.logger.error(`${(error as Error).name} reached a controller: ${(error as Error).message}`, (error as Error).stack);
    super.catch(http, host);
  }
}
