import { Module } from '@nestjs/common';
import { PgQueueModule } from 'nestjs-pgqueue';
import { MetricsController } from './metrics/metrics.controller';
import { ReportHandlers } from './reports/report.handlers';
import { ReportsController } from './reports/reports.controller';
import { ReportsRepository } from './reports/reports.repository';

@Module({
  imports: [
    PgQueueModule.forRoot({
      connectionString: process.env.DATABASE_URL,
      schema: 'pgqueue_sample',
      worker: { concurrency: 4, shutdownTimeoutMs: 5_000 },
    }),
  ],
  controllers: [ReportsController, MetricsController],
  providers: [ReportsRepository, ReportHandlers],
})
export class AppModule {}
