export { PgQueueDashboardModule } from './dashboard.module';
export type { DashboardRequest, PgQueueDashboardOptions } from './dashboard-options';
