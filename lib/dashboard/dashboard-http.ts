import {
  Catch,
  HttpException,
  Injectable,
  Logger,
  type ArgumentsHost,
  type CallHandler,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { toHttpException } from '../http/http-errors';
import { SECURITY_HEADERS } from './dashboard-security';

/** What both HTTP platforms' responses have: Express's `res.header()` and Fastify's `reply.header()`. */
export interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/** Sets the dashboard's security headers on every response, refusals and errors included. */
@Injectable()
export class SecurityHeaders implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    setSecurityHeaders(context.switchToHttp().getResponse<HeaderSetter>());
    return next.handle();
  }
}

export function setSecurityHeaders(response: HeaderSetter): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.header(name, value);
}

/** The package's errors as HTTP statuses: bad input 400, an action on a job in the wrong state 409, a slow database 503. */
@Catch()
export class DashboardErrors implements ExceptionFilter {
  private readonly logger = new Logger('PgQueueDashboard');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<HeaderSetter & { status(code: number): { send(body: unknown): void } }>();
    const http = toHttp(error);
    if (http.getStatus() >= 500) this.logger.error(`A dashboard request failed: ${(error as Error)?.message ?? String(error)}`);
    setSecurityHeaders(response);
    response.status(http.getStatus()).send(http.getResponse());
  }
}

function toHttp(error: unknown): HttpException {
  const http = toHttpException(error, 'PostgreSQL took too long; try a narrower filter.');
  return http.getStatus() === 500 && !(error instanceof HttpException) ? new HttpException('Internal error', 500) : http;
}
