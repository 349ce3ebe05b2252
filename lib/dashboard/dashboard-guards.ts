import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { DASHBOARD_OPTIONS, type DashboardRequest, type ResolvedDashboardOptions } from './dashboard-options';
import { crossSiteReason } from './dashboard-security';

/** Every dashboard request, pages and API alike, passes `auth` first: false answers 401. */
@Injectable()
export class DashboardAuthGuard implements CanActivate {
  constructor(@Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { auth } = this.options;
    if (auth === 'none') return true;
    if (await auth(context.switchToHttp().getRequest<DashboardRequest>())) return true;
    throw new UnauthorizedException('The queue dashboard needs you to sign in.');
  }
}

/**
 * Actions change jobs: refused on the server when the dashboard is read-only, and when the request may come from
 * another site (checked by the browser's own headers and a double-submit token).
 */
@Injectable()
export class DashboardActionGuard implements CanActivate {
  private readonly logger = new Logger('PgQueueDashboard');

  constructor(@Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.options.readOnly) throw new ForbiddenException('The queue dashboard is read-only.');
    const reason = crossSiteReason(context.switchToHttp().getRequest<DashboardRequest>());
    if (reason === undefined) return true;
    this.logger.warn(`Refused a dashboard action that may come from another site: ${reason}.`);
    throw new ForbiddenException('This action must come from the dashboard itself.');
  }
}
