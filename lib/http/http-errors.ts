import {
  BadRequestException,
  ConflictException,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { isStatementTimeout } from '../db/pg-errors';
import {
  DatabaseUnreachableError,
  InvalidJobError,
  JobNotFoundError,
  JobStateError,
  QueryTimeoutError,
  QueueShutdownError,
} from '../errors';

/**
 * The package's errors as the HTTP answers a controller should give: bad input (every `InvalidJobError`) 400, no such
 * job 404, an action on a job in the wrong state 409, a database that is slow, unreachable or shutting down 503.
 * Anything else is a 500 whose body says nothing of the cause (the filter logs it).
 */
export function toHttpException(error: unknown, timeoutMessage = 'PostgreSQL took too long to answer.'): HttpException {
  if (error instanceof HttpException) return error;
  if (error instanceof InvalidJobError) return new BadRequestException(error.message);
  if (error instanceof JobNotFoundError) return new NotFoundException(error.message);
  if (error instanceof JobStateError) return new ConflictException(error.message);
  if (error instanceof QueryTimeoutError || isStatementTimeout(error)) return new ServiceUnavailableException(timeoutMessage);
  if (error instanceof DatabaseUnreachableError || error instanceof QueueShutdownError)
    return new ServiceUnavailableException(error.message);
  return new InternalServerErrorException();
}
