import type { ClaimedJobRow } from '../db/job-row';
import type { ClaimStore } from '../db/stores/claim-store';
import type { HandlerRegistry } from '../discovery/handler-registry';
import type { Prefetch } from './prefetch';
import type { FailureLog } from '../services/failure-log';
import type { SlotTable } from './slot-table';

export interface ClaimerOptions {
  workerId: string;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  /** A type's default max attempts (its handler's, else the module's), stored on the jobs it claims without one. */
  defaultMaxAttempts(type: string): number;
}

/**
 * The claim loop: wakes on NOTIFY, on the poll floor and when slots free up; coalesces concurrent wake-ups into one
 * more round; sizes each claim by the slot table and what to prefetch; hands the claimed rows on.
 */
export class Claimer {
  private running = false;
  private claiming?: Promise<void>;
  private claimAgain = false;
  /**
   * Claimable jobs may be waiting that this worker left for lack of room (a full claim, a type at its limit, no free
   * slot when woken): a slot that frees then claims again. Otherwise a finished job claims nothing: new jobs notify.
   */
  private leftBehind = false;
  private pollTimer?: NodeJS.Timeout;

  constructor(
    private readonly slots: SlotTable,
    private readonly store: ClaimStore,
    private readonly registry: HandlerRegistry,
    private readonly prefetch: Prefetch,
    private readonly options: ClaimerOptions,
    private readonly failures: FailureLog,
    /** Takes the rows of a claim (they are this worker's now). */
    private readonly onClaimed: (rows: ClaimedJobRow[]) => void,
  ) {}

  start(): void {
    this.running = true;
    this.schedulePoll();
    this.wake();
  }

  /** Claims nothing more; resolves when the claim in flight (if any) has returned. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.pollTimer);
    await this.claiming;
  }

  /** Looks for jobs now; concurrent calls coalesce into one more round. */
  wake(): void {
    if (!this.running) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = this.claimWhileCapacity().finally(() => (this.claiming = undefined));
  }

  /**
   * After a job frees its slot, claims again only if jobs were left behind, and then in batches, not a claim per
   * finished job: once a quarter of what may be held is free, or when idle. Notifications and the poll floor still
   * claim for any free slot.
   */
  refill(): void {
    if (this.leftBehind && (this.slots.capacity(this.holdLimit) >= this.refillBatch || this.slots.active.size === 0)) this.wake();
  }

  /** Jobs this process may hold claimed: its slots plus those prefetched. */
  private get holdLimit(): number {
    return this.options.concurrency + this.prefetch.total(this.registry.types);
  }

  /** After a job finishes, claim again once this many jobs may be claimed. */
  private get refillBatch(): number {
    return Math.max(1, Math.floor(this.holdLimit / 4));
  }

  private async claimWhileCapacity(): Promise<void> {
    do {
      // One turn of the event loop first: jobs finishing together free their slots before the claim is sized.
      await new Promise((resolve) => setImmediate(resolve));
      this.claimAgain = false;
      this.prefetch.measure();
      const free = new Map(this.registry.types.map((type) => [type, this.typeHoldLimit(type) - this.slots.claimedOf(type)]));
      const types = [...free.keys()].filter((type) => (free.get(type) as number) > 0);
      const capacity = this.slots.capacity(this.holdLimit);
      if (!this.running) return;
      if (capacity <= 0 || types.length === 0) {
        this.leftBehind = true;
        return;
      }
      const perType = types.map((type) => Math.min(capacity, free.get(type) as number));
      let rows;
      this.slots.claimRequested = capacity;
      try {
        rows = await this.store.claim({
          types,
          defaultMaxAttempts: types.map((type) => this.options.defaultMaxAttempts(type)),
          perType,
          limit: capacity,
          workerId: this.options.workerId,
          leaseMs: this.options.leaseMs,
        });
      } catch (error) {
        this.leftBehind = true;
        this.failures.failed('Claiming jobs', error);
        return;
      } finally {
        this.slots.claimRequested = 0;
      }
      this.failures.succeeded();
      this.leftBehind = rows.length === capacity || types.length < free.size || filledAnyType(rows, types, perType);
      this.onClaimed(rows);
      if (rows.length === capacity) this.claimAgain = true;
    } while (this.claimAgain && this.running);
  }

  /** A type's slots plus the jobs of that type to prefetch. */
  private typeHoldLimit(type: string): number {
    return this.slots.typeConcurrency(type) + this.prefetch.forType(type);
  }

  private schedulePoll(): void {
    this.pollTimer = setTimeout(() => {
      this.wake();
      if (this.running) this.schedulePoll();
    }, this.options.pollIntervalMs);
  }
}

/** Whether a claim returned as many jobs of some type as it asked for: more of that type may be waiting. */
function filledAnyType(rows: ClaimedJobRow[], types: string[], perType: number[]): boolean {
  const claimed = new Map<string, number>();
  for (const row of rows) claimed.set(row.type, (claimed.get(row.type) ?? 0) + 1);
  return types.some((type, i) => (claimed.get(type) ?? 0) >= perType[i]);
}
