/** A bounded memory of ids seen lately (e.g. cancellations that may arrive before the claim that they concern). */
export class RecentIds {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly max = 10_000,
  ) {}

  add(id: string): void {
    this.seen.set(id, Date.now());
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value as string);
  }

  has(id: string): boolean {
    const at = this.seen.get(id);
    if (at === undefined) return false;
    if (Date.now() - at > this.ttlMs) {
      this.seen.delete(id);
      return false;
    }
    return true;
  }
}
