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

  async publish(payloads: string[]): Promise<void> {
    await this.statements.run(this.db.pool, this.db.sql.publishEvents, [this.db.channels.jobEvents, payloads]);
  }
}
