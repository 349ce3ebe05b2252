import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { QueueHealth, type QueueHealthOptions } from '../health/queue-health';

/**
 * A @nestjs/terminus health indicator for the queue. List it in `providers` beside TerminusModule:
 * `health.check([() => queueHealth.isHealthy('pgqueue', { maxLagMs: 60_000 })])`.
 */
@Injectable()
export class PgQueueHealthIndicator {
  private health?: QueueHealth;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Up when PostgreSQL answers within `timeoutMs` (3 s by default), the schema is migrated, this process's LISTEN
   * connection is up (or polling is configured), its worker heartbeats, and no job type it handles has a due job older
   * than `maxLagMs`; down with the reasons otherwise.
   */
  async isHealthy(key = 'pgqueue', options: QueueHealthOptions = {}): Promise<HealthIndicatorResult> {
    this.health ??= this.moduleRef.get(QueueHealth, { strict: false });
    const { healthy, reasons, ...details } = await this.health.check(options);
    const indicator = this.indicators.check(key);
    return healthy ? indicator.up(details) : indicator.down({ ...details, reasons });
  }
}
