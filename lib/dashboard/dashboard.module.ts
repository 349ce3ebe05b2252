import { Inject, Logger, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { dashboardApiController } from './dashboard-api.controller';
import { dashboardPagesController } from './dashboard-pages.controller';
import { DashboardActionGuard, DashboardAuthGuard } from './dashboard-guards';
import { DASHBOARD_OPTIONS, type PgQueueDashboardOptions, type ResolvedDashboardOptions } from './dashboard-options';
import { resolveDashboardOptions } from './resolve-dashboard-options';

/**
 * The queue dashboard, mounted in the application's own HTTP server (Express or Fastify):
 * `PgQueueDashboardModule.forRoot({ path: '/queues', auth: (request) => ... })`, next to PgQueueModule.
 */
@Module({})
export class PgQueueDashboardModule implements OnModuleInit {
  constructor(@Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions) {}

  static forRoot(options: PgQueueDashboardOptions): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    return {
      module: PgQueueDashboardModule,
      controllers: [dashboardApiController(resolved.path), dashboardPagesController(resolved.path)],
      providers: [{ provide: DASHBOARD_OPTIONS, useValue: resolved }, DashboardAuthGuard, DashboardActionGuard],
    };
  }

  onModuleInit(): void {
    if (this.options.auth === 'none')
      new Logger('PgQueueDashboard').warn(
        `The queue dashboard at ${this.options.path} has auth: 'none': anyone who can reach it can see every job` +
          (this.options.readOnly ? '.' : ', and retry, cancel and delete them.'),
      );
  }
}
