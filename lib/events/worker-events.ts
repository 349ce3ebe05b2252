import type { PgListener } from '../db/pg-listener';
import type { EventStore } from '../db/stores/event-store';
import type { BackgroundService } from '../services/background-service';
import type { FailureLog } from '../services/failure-log';
import type { QueueLogger } from '../services/queue-logger';
import { EventPublisher } from './event-publisher';
import { JobEventBus } from './job-event-bus';
import { ThroughputRecorder } from './throughput-recorder';

/** A worker's event parts: the bus it emits to, and the services behind it, started and stopped with the worker. */
export function workerEvents(
  store: EventStore,
  listener: PgListener,
  subscribersChannel: string,
  workerId: string,
  failures: FailureLog,
  logger: QueueLogger,
): { bus: JobEventBus; services: BackgroundService[] } {
  const publisher = new EventPublisher(store, listener, subscribersChannel, failures);
  const throughput = new ThroughputRecorder(store, workerId, failures);
  return { bus: new JobEventBus(logger, publisher, throughput), services: [publisher, throughput] };
}
