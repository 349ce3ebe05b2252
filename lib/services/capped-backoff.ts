/** The wait before retry `attempt` (0-based): doubling from `minMs`, never over `maxMs`. */
export function cappedBackoff(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
}
