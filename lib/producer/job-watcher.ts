import { Observable, type Subscriber } from 'rxjs';
import { toSnapshot } from '../db/job-row';
import type { AdminStore } from '../db/stores/admin-store';
import type { PgListener } from '../db/pg-listener';
import type { QueueDatabase } from '../db/queue-database';
import { JobNotFoundError, QueueShutdownError } from '../errors';
import { messages } from '../errors/messages';
import type { JobSnapshot } from '../interfaces';

const FINAL_STATES = new Set(['completed', 'failed', 'cancelled']);
/** Notifications arrive in bursts: one refresh serves a burst. */
const REFRESH_COALESCE_MS = 15;

interface Watch {
  subscriber: Subscriber<JobSnapshot>;
  lastSeen?: string;
}

/**
 * Serves watch(id) for every subscriber of this process with one query per refresh. Refreshes come from the
 * schema's events channel (any process's worker changing any job) and from a poll floor.
 */
export class JobWatcher {
  private readonly watches = new Map<string, Set<Watch>>();
  private readonly unsubscribe: Array<() => void> = [];
  private refreshTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private closed = false;

  constructor(
    private readonly db: QueueDatabase,
    private readonly store: AdminStore,
    private readonly listener: PgListener,
    private readonly pollIntervalMs: number,
  ) {}

  watch<P, R>(id: string): Observable<JobSnapshot<P, R>> {
    return new Observable<JobSnapshot<P, R>>((subscriber) => {
      if (this.closed) return subscriber.error(new QueueShutdownError(messages.watchEndedByShutdown(id)));
      const watch: Watch = { subscriber };
      if (this.watches.size === 0) this.listen();
      let set = this.watches.get(id);
      if (!set) this.watches.set(id, (set = new Set()));
      set.add(watch);
      this.scheduleRefresh(0);
      return () => this.remove(id, watch);
    });
  }

  /**
   * Ends every open watch with a QueueShutdownError (module shutdown): a subscriber can tell a restart from a job
   * that finished, which completes the stream.
   */
  close(): void {
    this.closed = true;
    for (const [id, set] of this.watches)
      for (const watch of set) watch.subscriber.error(new QueueShutdownError(messages.watchEndedByShutdown(id)));
    this.watches.clear();
    this.quiet();
  }

  private listen(): void {
    this.unsubscribe.push(
      this.listener.on(this.db.channels.events, () => this.scheduleRefresh(REFRESH_COALESCE_MS)),
      this.listener.onReconnect(() => this.scheduleRefresh(0)),
    );
    void this.listener.start();
    this.pollTimer = setInterval(() => this.scheduleRefresh(0), this.pollIntervalMs);
  }

  private quiet(): void {
    this.unsubscribe.splice(0).forEach((off) => off());
    clearInterval(this.pollTimer);
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  private remove(id: string, watch: Watch): void {
    const set = this.watches.get(id);
    set?.delete(watch);
    if (set?.size === 0) this.watches.delete(id);
    if (this.watches.size === 0) this.quiet();
  }

  private scheduleRefresh(delayMs: number): void {
    if (this.refreshTimer || this.watches.size === 0) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.refreshing) this.refreshAgain = true;
      else this.refreshing = this.refresh().finally(() => (this.refreshing = undefined));
    }, delayMs);
  }

  private async refresh(): Promise<void> {
    do {
      this.refreshAgain = false;
      const ids = [...this.watches.keys()];
      if (ids.length === 0) return;
      let rows;
      try {
        rows = await this.store.find(ids);
      } catch {
        return; // the poll floor tries again
      }
      const found = new Map(rows.map((row) => [row.id, row]));
      for (const id of ids) {
        const row = found.get(id);
        const watches = [...(this.watches.get(id) ?? [])];
        if (!row) {
          // Only finished jobs are ever deleted (by retention): one seen before has ended, one never seen is unknown.
          for (const watch of watches) {
            if (watch.lastSeen === undefined) watch.subscriber.error(new JobNotFoundError(messages.jobNotFound(id)));
            else watch.subscriber.complete();
          }
          continue;
        }
        const snapshot = toSnapshot(row);
        const seen = JSON.stringify([row.status, row.progress, row.stage, row.attempts, row.run_at, row.last_error]);
        for (const watch of watches) {
          if (watch.lastSeen !== seen) {
            watch.lastSeen = seen;
            watch.subscriber.next(snapshot);
          }
          if (FINAL_STATES.has(row.status)) watch.subscriber.complete();
        }
      }
    } while (this.refreshAgain);
  }
}
