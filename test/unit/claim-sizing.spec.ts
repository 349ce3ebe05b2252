import type { ClaimedJobRow } from '../../lib/db/job-row';
import { HandlerRegistry } from '../../lib/discovery/handler-registry';
import type { JobHandlerOptions } from '../../lib/interfaces';
import { ActiveJob } from '../../lib/worker/active-job';
import { Prefetch } from '../../lib/worker/prefetch';
import { SlotTable } from '../../lib/worker/slot-table';

// How a worker sizes its claims, without a database: the slot table's capacity and reservations, per-type limits,
// and the prefetch on top of the free slots.

function registryOf(handlers: Record<string, JobHandlerOptions>): HandlerRegistry {
  const registry = new HandlerRegistry();
  registry.addAll(
    Object.entries(handlers).map(([type, options]) => ({ type, options, name: `Handlers#${type}`, invoke: async () => undefined })),
  );
  return registry;
}

let nextId = 1;
function claimed(registry: HandlerRegistry, type: string): ActiveJob {
  const id = String(nextId++);
  const row: ClaimedJobRow = {
    id,
    type,
    queue: null,
    priority: 100,
    payload: {},
    progress: 0,
    stage: null,
    attempts: 1,
    max_attempts: 3,
    run_at: new Date(0),
    created_at: new Date(0),
    started_at: new Date(0),
    claim_token: `token-${id}`,
    trace_context: null,
  };
  return new ActiveJob(row, registry.get(type)!);
}

describe('the slot table sizes claims', () => {
  it('offers the hold limit minus the jobs it holds, and counts reservations as held', () => {
    const registry = registryOf({ email: {} });
    const slots = new SlotTable(4, registry);
    expect(slots.capacity(6)).toBe(6);

    slots.track(claimed(registry, 'email'));
    slots.track(claimed(registry, 'email'));
    expect(slots.capacity(6)).toBe(4);

    expect(slots.reserve('email')).toBe(true);
    expect(slots.capacity(6)).toBe(3);
    slots.release('email');
    expect(slots.capacity(6)).toBe(4);
  });

  it('claims less while outcomes are still being written: a slow database slows claims', () => {
    const registry = registryOf({ email: {} });
    const slots = new SlotTable(3, registry);
    const jobs = [claimed(registry, 'email'), claimed(registry, 'email'), claimed(registry, 'email')];
    jobs.forEach((job) => slots.track(job));
    for (const job of slots.nextToStart()) {
      slots.outcomeReady(job); // the handler settled; its outcome is being written
      slots.returned(job); // and its code has returned: the slot is free
    }
    // Nothing held, three outcomes in flight: min(2 - 0, 2 * 2 - 0 - 3) = 1, not the 2 free slots.
    expect(slots.capacity(2)).toBe(1);
    jobs.forEach((job) => slots.settled(job));
    expect(slots.capacity(2)).toBe(2);
  });

  it('keeps a slot taken until an aborted handler really returns', () => {
    const registry = registryOf({ email: {} });
    const slots = new SlotTable(1, registry);
    const job = claimed(registry, 'email');
    slots.track(job);
    expect(slots.nextToStart()).toEqual([job]);
    slots.outcomeReady(job);
    expect(slots.capacity(1)).toBe(0);
    expect(slots.reserve('email')).toBe(false);
    slots.returned(job);
    expect(slots.capacity(1)).toBe(1);
  });

  it('starts jobs in claim order within the worker and each handler concurrency, skipping a full type', () => {
    const registry = registryOf({ pdf: { concurrency: 1 }, email: {} });
    const slots = new SlotTable(3, registry);
    const [pdf1, pdf2, email1, email2] = [
      claimed(registry, 'pdf'),
      claimed(registry, 'pdf'),
      claimed(registry, 'email'),
      claimed(registry, 'email'),
    ];
    [pdf1, pdf2, email1, email2].forEach((job) => slots.track(job));

    expect(slots.nextToStart()).toEqual([pdf1, email1, email2]);
    expect([pdf1, pdf2, email1, email2].map((job) => job.phase)).toEqual(['running', 'waiting', 'running', 'running']);
    slots.outcomeReady(pdf1);
    slots.returned(pdf1);
    expect(slots.nextToStart()).toEqual([pdf2]);
  });

  it('refuses a reservation when the slots are taken, the type is at its limit, or the claim in flight asked for them', () => {
    const registry = registryOf({ pdf: { concurrency: 1 }, email: {} });
    const slots = new SlotTable(2, registry);
    expect(slots.reserve('pdf')).toBe(true);
    expect(slots.reserve('pdf')).toBe(false); // its handler runs one at a time
    expect(slots.reserve('email')).toBe(true);
    expect(slots.reserve('email')).toBe(false); // both slots reserved
    slots.release('pdf');
    slots.release('email');

    slots.claimRequested = 2;
    expect(slots.reserve('email')).toBe(false);
    slots.claimRequested = 0;
    expect(slots.reserve('email')).toBe(true);
  });

  it('counts a type against its limit by claimed, reserved and still-running jobs', () => {
    const registry = registryOf({ pdf: { concurrency: 2 } });
    const slots = new SlotTable(10, registry);
    expect(slots.typeConcurrency('pdf')).toBe(2);
    slots.track(claimed(registry, 'pdf'));
    slots.reserve('pdf');
    expect(slots.claimedOf('pdf')).toBe(2);
  });
});

describe('prefetch', () => {
  afterEach(() => jest.useRealTimers());

  it('claims a fixed number beyond the free slots, per type and in total', () => {
    const prefetch = new Prefetch(5);
    expect(prefetch.forType('email')).toBe(5);
    expect(prefetch.total(['email', 'pdf'])).toBe(5);
    expect(new Prefetch(0).total(['email'])).toBe(0);
  });

  it("'auto' claims nothing ahead for a type it has not seen start, then about 10 ms of its pace, at most 1000", () => {
    jest.useFakeTimers();
    const prefetch = new Prefetch('auto');
    expect(prefetch.forType('email')).toBe(0);

    // 50 jobs a millisecond for a second: the smoothed pace reaches it, 10 ms of it is 500 jobs.
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 50; i++) prefetch.started('email');
      jest.advanceTimersByTime(1);
      prefetch.measure();
    }
    expect(prefetch.forType('email')).toBeGreaterThan(450);
    expect(prefetch.forType('email')).toBeLessThanOrEqual(500);
    expect(prefetch.forType('pdf')).toBe(0);

    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 300; i++) prefetch.started('email');
      jest.advanceTimersByTime(1);
      prefetch.measure();
    }
    expect(prefetch.forType('email')).toBe(1000);
    expect(prefetch.total(['email', 'pdf'])).toBe(1000);
  });

  it("'auto' claims none ahead for a type that starts fewer than one job per 10 ms", () => {
    jest.useFakeTimers();
    const prefetch = new Prefetch('auto');
    for (let ms = 0; ms < 2000; ms += 20) {
      prefetch.started('report');
      jest.advanceTimersByTime(20);
      prefetch.measure();
    }
    expect(prefetch.forType('report')).toBe(0);
  });
});
