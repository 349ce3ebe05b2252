import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConfigurablePgQueueModule } from './pg-queue.module-definition';
import { queueProviders } from './pg-queue.providers';
import { QueueService } from './queue.service';

/** PostgreSQL job queue: `PgQueueModule.forRoot(options)` or `forRootAsync(asyncOptions)`. Exports QueueService. */
@Module({
  imports: [DiscoveryModule],
  providers: queueProviders,
  exports: [QueueService],
})
export class PgQueueModule extends ConfigurablePgQueueModule {}
