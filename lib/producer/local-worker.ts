import type { ClaimedJobRow } from '../db/job-row';

/** What an enqueue of this application may ask of its own worker. */
export interface SlotLender {
  readonly workerId: string;
  readonly leaseMs: number;
  /** The job types the worker handles. */
  readonly types: string[];
  /** Holds a free slot for a job of `type` until adopt or release: its handler's default max attempts, or null. */
  reserve(type: string): number | null;
  /** The job its slot was reserved for was inserted already claimed: run it (or hand it back if stopping). */
  adopt(row: ClaimedJobRow): Promise<void>;
  /** The job its slot was reserved for was inserted pending, or not at all. */
  release(type: string): void;
}

/**
 * This application's worker while it claims jobs. An enqueue it has a free slot for claims the job in the insert
 * itself, so the job starts without a notification and a claim round trip.
 */
export class LocalWorker {
  private lender?: SlotLender;

  get current(): SlotLender | undefined {
    return this.lender;
  }

  attach(lender: SlotLender): void {
    this.lender = lender;
  }

  detach(): void {
    this.lender = undefined;
  }
}
