import type { QueueDatabase } from '../queue-database';
import type { StatementRunner } from '../statement-runner';

/** Runs the statements of job events across processes (sql/events-sql.ts). */
export class EventStore {
  constructor(
    private readonly db: QueueDatabase,
    private readonly statements: StatementRunner,
  ) {}

  /** Subscribes `id` (or renews it) for `ttlMs`; a new subscription wakes the workers' publishers. */
  async renewSubscriber(id: string, ttlMs: number): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.renewSubscriber, [id, ttlMs, this.db.channels.subscribers]);
  }

  async removeSubscriber(id: string): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.removeSubscriber, [id]);
  }

  async anySubscriber(): Promise<boolean> {
    const { rows } = await this.statements.run<{ any: boolean }>(this.db.pool, this.db.sql.anySubscriber);
    return rows[0].any;
  }

  /** This worker's counts per type and minute (epoch ms of its start) so far. */
  async saveThroughput(
    workerId: string,
    counts: Array<{ type: string; minute: number; completed: number; failed: number }>,
  ): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.saveThroughput, [
      workerId,
      counts.map((c) => c.type),
      counts.map((c) => c.minute),
      counts.map((c) => c.completed),
      counts.map((c) => c.failed),
    ]);
  }

  async throughput(minutes: number): Promise<Array<{ minute: Date; type: string; completed: number; failed: number }>> {
    return (
      await this.statements.run<{ minute: Date; type: string; completed: number; failed: number }>(
        this.db.pool,
        this.db.sql.selectThroughput,
        [minutes],
      )
    ).rows;
  }

  async publish(payloads: string[]): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.publishEvents, [this.db.channels.jobEvents, payloads]);
  }
}
