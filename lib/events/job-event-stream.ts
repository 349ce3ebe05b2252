import type { QueueLogger } from '../services/queue-logger';
import { randomUUID } from 'node:crypto';
import { Observable, Subject, filter, share, takeUntil } from 'rxjs';
import type { JobRow } from '../db/job-row';
import type { PgListener } from '../db/pg-listener';
import type { AdminStore } from '../db/stores/admin-store';
import type { EventStore } from '../db/stores/event-store';
import type { JobEvent, JobEventName } from '../interfaces';
import { fromPayload, type WireEvent } from './event-wire';

/** A subscription holds this long unless renewed; it is renewed three times as often. */
const SUBSCRIPTION_TTL_MS = 30_000;
const RENEW_INTERVAL_MS = 10_000;
/** Notifications waiting for their rows to be read; past this (a slow database), new ones are dropped. */
const MAX_WAITING = 1_000;

/** Events whose details are user data, read from the job's row rather than sent in a notification. */
const READS_ROW = new Set<JobEventName>(['completed', 'retrying', 'failed', 'rescued', 'progress']);

/**
 * QueueService.events(): job events from every process. The first subscriber in this process registers it (workers
 * then publish), listens on the job-events channel and reads the details of each batch of events from the jobs' rows;
 * later subscribers share that. The listener reconnects by itself: the stream stays open through an outage, and events
 * sent meanwhile are missed (they are notifications, not a record; getJob tells what happened since).
 */
export class JobEventStream {
  private readonly closed = new Subject<void>();
  private readonly all: Observable<JobEvent>;

  constructor(
    private readonly store: EventStore,
    private readonly jobs: AdminStore,
    private readonly listener: PgListener,
    private readonly channel: string,
    private readonly logger: QueueLogger,
  ) {
    this.all = new Observable<JobEvent>((subscriber) => {
      const id = randomUUID();
      const renew = () =>
        this.store
          .renewSubscriber(id, SUBSCRIPTION_TTL_MS)
          .catch((error: Error) => this.logger.warn(`Subscribing to job events failed: ${error.message}`));
      void renew();
      const renewal = setInterval(() => void renew(), RENEW_INTERVAL_MS);
      let delivered = Promise.resolve();
      let waiting = 0;
      const off = this.listener.on(this.channel, (payload) => {
        if (waiting >= MAX_WAITING) return this.warnDropped();
        waiting++;
        delivered = delivered.then(() => this.deliver(fromPayload(payload), (event) => subscriber.next(event))).finally(() => waiting--);
      });
      void this.listener.start();
      return () => {
        off();
        clearInterval(renewal);
        void this.store.removeSubscriber(id).catch(() => undefined);
      };
    }).pipe(takeUntil(this.closed), share());
  }

  events(keep: (event: JobEvent) => boolean): Observable<JobEvent> {
    return this.all.pipe(filter(keep));
  }

  private warnedAt = 0;

  /** Says so at most once a minute: the stream is behind and events are being missed. */
  private warnDropped(): void {
    if (Date.now() - this.warnedAt < 60_000) return;
    this.warnedAt = Date.now();
    this.logger.warn(`Job events are arriving faster than their details can be read; events are being missed.`);
  }

  /** Ends every stream (at shutdown). */
  close(): void {
    this.closed.next();
  }

  private async deliver(wire: WireEvent[], next: (event: JobEvent) => void): Promise<void> {
    if (wire.length === 0) return;
    const ids = [...new Set(wire.filter(([event]) => READS_ROW.has(event)).map(([, id]) => id))];
    let rows = new Map<string, JobRow>();
    try {
      if (ids.length > 0) rows = new Map((await this.jobs.find(ids)).map((row) => [row.id, row]));
    } catch (error) {
      this.logger.warn(
        `Reading the details of ${wire.length} job event(s) failed; they are sent without them: ${(error as Error).message}`,
      );
    }
    for (const [event, id, type, attempt, maxAttempts, at, progress, delayMs] of wire) {
      const row = rows.get(id);
      const built: JobEvent = { event, job: { id, type, attempt, maxAttempts }, at: new Date(at) };
      if (event === 'completed' && row) built.result = row.result;
      if ((event === 'retrying' || event === 'failed' || event === 'rescued') && row) built.error = row.last_error ?? undefined;
      if (event === 'progress') Object.assign(built, { progress: progress ?? undefined, stage: row?.stage ?? null });
      if (delayMs !== null) built.delayMs = delayMs;
      next(built);
    }
  }
}
