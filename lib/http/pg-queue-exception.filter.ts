import { Catch, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { PgQueueError } from '../errors';
import { toHttpException } from './http-errors';

/**
 * Answers the package's errors that reach a controller with their HTTP status (see toHttpException) instead of a
 * 500: `app.useGlobalFilters(new PgQueueExceptionFilter(app.get(HttpAdapterHost).httpAdapter))`, or
 * `{ provide: APP_FILTER, useClass: PgQueueExceptionFilter }`, or `@UseFilters(PgQueueExceptionFilter)`. Express and
 * Fastify alike: Nest's own filter writes the answer. Other errors are left to Nest as before.
 */
@Catch(PgQueueError)
export class PgQueueExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('PgQueue');

  catch(error: PgQueueError, host: ArgumentsHost): void {
    const http = toHttpException(error);
    if (http.getStatus() >= 500) this.logger.error(`${error.name} reached a controller: ${error.message}`, error.stack);
    super.catch(http, host);
  }
}
