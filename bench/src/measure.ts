import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const now = () => performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects with `message()` if `promise` has not settled after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const median = (values: number[]) => percentile(values, 50);

/** Runs `count` calls of `call(i)` from `callers` concurrent loops; returns the elapsed ms. */
export async function concurrently(count: number, callers: number, call: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < count) await call(next++);
    }),
  );
  return now() - start;
}

const vmHwmKb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);

/**
 * Peak resident set size of this process between start() and stop(), in MB. Linux keeps the peak (VmHWM) and lets a
 * process reset it (`5` into /proc/self/clear_refs); sampling every 20 ms backs it up where that is not allowed.
 */
export class PeakRss {
  private sampled = 0;
  private timer?: NodeJS.Timeout;
  private kernelPeak = false;

  start(): void {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      this.kernelPeak = Number.isFinite(vmHwmKb());
    } catch {
      this.kernelPeak = false;
    }
    this.sampled = process.memoryUsage.rss();
    this.timer = setInterval(() => (this.sampled = Math.max(this.sampled, process.memoryUsage.rss())), 20);
  }

  stop(): number {
    clearInterval(this.timer);
    const sampled = Math.max(this.sampled, process.memoryUsage.rss());
    const peak = this.kernelPeak ? Math.max(sampled, vmHwmKb() * 1024) : sampled;
    return peak / (1024 * 1024);
  }
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ): 100 on every Linux this runs on. */
const USER_HZ = 100;

/** CPU seconds used so far by each process of the local PostgreSQL server (every `postgres` process), by pid. */
function postgresCpuByPid(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ...": comm may hold spaces, so read after its closing parenthesis.
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / USER_HZ);
    } catch {
      // the process ended while we read
    }
  }
  return cpu;
}

/**
 * CPU the local PostgreSQL server spent between start() and stop(), in seconds, read from /proc for all its processes
 * (backends, WAL writer, checkpointer, autovacuum): what the database pays for the work, whoever asked for it. A
 * process that ends in between is not counted, so connections must stay open until stop(). NaN when /proc shows no
 * PostgreSQL process (a server on another machine).
 */
export class PostgresCpu {
  private before = new Map<number, number>();

  start(): void {
    this.before = postgresCpuByPid();
  }

  stop(): number {
    const after = postgresCpuByPid();
    if (after.size === 0) return NaN;
    let seconds = 0;
    for (const [pid, used] of after) seconds += used - (this.before.get(pid) ?? 0);
    return seconds;
  }
}
