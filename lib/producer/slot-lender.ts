import type { ClaimedJobRow } from '../db/job-row';

/**
 * The claim-on-insert port: what an enqueue of this application may ask of its own worker. A job the worker has a
 * free slot for is claimed in the insert itself, so it starts without a notification and a claim round trip. The
 * worker pool implements it; a producer-only application has none.
 */
export interface SlotLender {
  readonly workerId: string;
  readonly leaseMs: number;
  /** The job types the worker handles. */
  readonly types: string[];
  /**
   * Holds a free slot for a job of `type` until adopt or release: its handler's default max attempts, or null when
   * no slot is free (or the worker is not claiming).
   */
  reserve(type: string): number | null;
  /** The job its slot was reserved for was inserted already claimed: run it (or hand it back if stopping). */
  adopt(row: ClaimedJobRow): Promise<void>;
  /** The job its slot was reserved for was inserted pending, or not at all. */
  release(type: string): void;
}
