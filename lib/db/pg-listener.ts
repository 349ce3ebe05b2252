import type { QueueLogger } from '../services/queue-logger';
import { Client, type ClientConfig } from 'pg';
import { messages } from '../errors/messages';
import { cappedBackoff } from '../services/capped-backoff';
import type { QueueDatabase } from './queue-database';

type NotificationHandler = (payload: string) => void;

const HEALTH_CHECK_MS = 15_000;
const HEALTH_CHECK_TIMEOUT_MS = 5_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * One dedicated connection that LISTENs on the schema's channels and fans notifications out.
 * It reconnects by itself with backoff, re-LISTENs, and tells subscribers so they can catch up by polling:
 * notifications sent while it was away are lost, by PostgreSQL's design.
 */
export class PgListener {
  private readonly logger: QueueLogger;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private client?: Client;
  private started?: Promise<void>;
  private closed = false;
  private failures = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private healthTimer?: NodeJS.Timeout;

  /** Undefined when there is nowhere to LISTEN. */
  private readonly config: ClientConfig | undefined;

  constructor(private readonly db: QueueDatabase) {
    this.logger = db.logs.for('PgQueueListener');
    this.config = db.listenConfig();
  }

  /**
   * For health checks: `listening` while connected, `polling` when there is nowhere to LISTEN (a transaction pooler
   * without listenConnectionString: polling is then the design), `idle` before the first start, `lost` otherwise.
   */
  get state(): 'listening' | 'polling' | 'idle' | 'lost' {
    if (!this.config) return 'polling';
    if (this.started === undefined) return 'idle';
    return this.client && !this.closed ? 'listening' : 'lost';
  }

  /** Subscribes to a channel; returns the unsubscribe function. */
  on(channel: string, handler: NotificationHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Called after every reconnect (not the first connect). */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /**
   * Connects once; later calls return the same promise. A failed first connect keeps retrying in the background.
   * With nowhere to LISTEN (behind a transaction pooler, without listenConnectionString) it warns once and never
   * connects: subscribers then hear nothing, and their polling does all the work.
   */
  start(): Promise<void> {
    this.started ??= this.config ? this.connect(false).catch(() => this.scheduleReconnect()) : this.pollOnly();
    return this.started;
  }

  private async pollOnly(): Promise<void> {
    this.logger.warn(messages.noListenBehindPooler());
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(isReconnect: boolean): Promise<void> {
    const client = new Client(this.config);
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      for (const channel of Object.values(this.db.channels)) await client.query(`LISTEN "${channel}"`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (isReconnect && this.failures > 1) this.logger.log(`LISTEN connection is back after ${this.failures - 1} failed reconnect(s).`);
    this.failures = 0;
    clearInterval(this.healthTimer);
    this.healthTimer = setInterval(() => void this.checkHealth(client), HEALTH_CHECK_MS);
    this.healthTimer.unref();
    if (isReconnect) for (const handler of this.reconnectHandlers) handler();
  }

  /** Half-open sockets never emit an error: a periodic query with a deadline finds them. */
  private async checkHealth(client: Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('health check timed out')), HEALTH_CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([client.query('SELECT 1'), deadline]);
    } catch (error) {
      this.lost(client, error as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  private lost(client: Client, error: Error): void {
    if (this.closed || this.client !== client) return;
    this.logger.warn(`LISTEN connection lost (${error.message}); reconnecting. Polling keeps jobs moving meanwhile.`);
    this.client = undefined;
    clearInterval(this.healthTimer);
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delay = cappedBackoff(this.failures++, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.connect(true).catch((error: Error) => {
        // Once per outage: retries come every few seconds for as long as it lasts, and the line on success closes it.
        if (this.failures === 1) this.logger.warn(`LISTEN reconnect failed: ${error.message}; retrying quietly with backoff.`);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }
}
