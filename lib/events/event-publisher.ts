import type { PgListener } from '../db/pg-listener';
import type { EventStore } from '../db/stores/event-store';
import type { JobEvent } from '../interfaces';
import type { BackgroundService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import { PeriodicTask } from '../services/periodic-task';
import { toPayloads, toWire, type WireEvent } from './event-wire';

/** How often a worker looks whether anyone still subscribes (a new subscriber also says so at once). */
const CHECK_INTERVAL_MS = 5000;
/** Events are sent together, at most this long after the first of them. */
const FLUSH_DELAY_MS = 50;
/** Events waiting while PostgreSQL is slow; past this, new ones are dropped (events are notifications, not a record). */
const MAX_WAITING = 10_000;

/**
 * Sends the job events of this worker to QueueService.events() subscribers in every process, as notifications on
 * the job-events channel, but only while a subscriber exists: with none, an event costs nothing.
 */
export class EventPublisher implements BackgroundService {
  readonly name = 'Publishing job events';
  private active = false;
  /** When a new subscriber last said so (Date.now()). */
  private heardAt = 0;
  private buffer: WireEvent[] = [];
  private flushTimer?: NodeJS.Timeout;
  /** One publish at a time, in order: a slow database queues them here rather than on the pool. */
  private sending: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private readonly checker = new PeriodicTask(() => this.check(), CHECK_INTERVAL_MS);

  constructor(
    private readonly store: EventStore,
    private readonly listener: PgListener,
    private readonly subscribersChannel: string,
    private readonly failures: FailureLog,
  ) {}

  /** Whether events are being published now. */
  get publishing(): boolean {
    return this.active;
  }

  start(): void {
    this.unsubscribe ??= this.listener.on(this.subscribersChannel, () => {
      this.active = true;
      this.heardAt = Date.now();
    });
    this.checker.start();
    void this.checker.runNow();
  }

  add(event: JobEvent): void {
    if (this.buffer.length >= MAX_WAITING) return;
    this.buffer.push(toWire(event));
    this.flushTimer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.checker.stop();
    await this.flush();
  }

  private async check(): Promise<void> {
    const asked = Date.now();
    try {
      const any = await this.store.anySubscriber();
      // A subscriber heard of while the answer was on its way may not be in it: it stays heard.
      this.active = any || this.heardAt >= asked;
    } catch (error) {
      this.failures.failed(this.name, error);
    }
  }

  private flush(): Promise<void> {
    this.sending = this.sending.then(() => this.send());
    return this.sending;
  }

  private async send(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.buffer.length === 0) return;
    const events = this.buffer;
    this.buffer = [];
    try {
      await this.store.publish(toPayloads(events));
    } catch (error) {
      // Events are notifications, not a record: ones that cannot be sent now are dropped.
      this.failures.failed(this.name, error);
    }
  }
}
