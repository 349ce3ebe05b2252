import { loadMigrations } from '../db/migrator';
import { InvalidJobOptionError } from '../errors';
import { messages } from '../errors/messages';
import type { PgListener } from '../db/pg-listener';
import type { QueueDatabase } from '../db/queue-database';
import type { StatementRunner } from '../db/statement-runner';
import type { WorkerPool } from '../worker/worker-pool';

/** Options of a health check. */
export interface QueueHealthOptions {
  /** Unhealthy when a job type this process handles has a due pending job older than this. */
  maxLagMs?: number;
  /** How long PostgreSQL may take to answer. @default 3000 */
  timeoutMs?: number;
}

/** What a health check found; `reasons` says why when it is not healthy. */
export interface QueueHealthReport {
  healthy: boolean;
  reasons: string[];
  database: 'up' | 'down';
  listener: 'listening' | 'polling' | 'idle' | 'lost';
  worker: 'running' | 'late' | 'stopped' | 'none';
  /** Per job type this process handles that has due pending jobs: the oldest one's age. */
  lagMs: Record<string, number>;
}

/**
 * The queue's health as this process sees it, answered within `timeoutMs` even when the network to PostgreSQL is
 * cut: a check that hangs is worse than none. Read by the terminus indicator (nestjs-pgqueue/terminus).
 */
export class QueueHealth {
  private readonly needed = loadMigrations().map((migration) => migration.version);

  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
    private readonly listener: PgListener,
    private readonly worker: WorkerPool | null,
  ) {}

  async check({ maxLagMs, timeoutMs = 3000 }: QueueHealthOptions = {}): Promise<QueueHealthReport> {
    if (maxLagMs !== undefined && !(Number.isFinite(maxLagMs) && maxLagMs >= 0))
      throw new InvalidJobOptionError(messages.invalidOption('maxLagMs', maxLagMs, 'a number of milliseconds >= 0'));
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new InvalidJobOptionError(messages.invalidOption('timeoutMs', timeoutMs, 'a positive integer of milliseconds'));
    const reasons: string[] = [];
    const report: QueueHealthReport = { healthy: true, reasons, database: 'up', listener: this.listener.state, worker: 'none', lagMs: {} };
    try {
      const { rows } = await this.statements.run<{ migrations: number[]; lag_ms: Record<string, number> }>(
        this.db.pool,
        this.db.sql.health,
        [this.worker?.types ?? []],
        timeoutMs,
      );
      const missing = this.needed.filter((version) => !rows[0].migrations.includes(version));
      if (missing.length > 0) reasons.push(`the schema lacks migration(s) ${missing.join(', ')}`);
      report.lagMs = rows[0].lag_ms;
    } catch (error) {
      report.database = 'down';
      reasons.push(`PostgreSQL did not answer within ${timeoutMs} ms: ${(error as Error).message}`);
    }
    if (report.listener === 'lost') reasons.push('the LISTEN connection is lost (reconnecting)');
    if (this.worker) {
      const { running, sinceLastBeatMs, lateAfterMs } = this.worker.heartbeat;
      report.worker = !running ? 'stopped' : sinceLastBeatMs > lateAfterMs ? 'late' : 'running';
      if (report.worker === 'stopped') reasons.push('the worker is not running');
      if (report.worker === 'late') reasons.push(`the worker's heartbeat is ${sinceLastBeatMs} ms old`);
    }
    if (maxLagMs !== undefined)
      for (const [type, lag] of Object.entries(report.lagMs))
        if (lag > maxLagMs) reasons.push(`${type} has a due job waiting for ${lag} ms (maxLagMs ${maxLagMs})`);
    report.healthy = reasons.length === 0;
    return report;
  }
}
