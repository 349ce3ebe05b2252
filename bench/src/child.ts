/**
 * One measurement in its own process (so peak RSS and JIT state belong to one system only):
 *   node out/child.js <mode> <system key> <database url> [argument]
 * and sends its result to the parent over IPC.
 */
import { claimCases, measureClaims } from './claims';
import { withClient } from './db';
import { drain, enqueueInBatches, runSuite, SIZES } from './suite';
import { SYSTEMS } from './systems';

/**
 * The shared server runs with autovacuum off, so nothing would ever gather statistics on the freshly filled queue
 * tables. Before each drain (and the latency scenario), one ANALYZE of the whole database stands in for the
 * auto-analyze a default server would have run by then (after 10% of a table changed), the same for every system.
 */
const analyze = (url: string) => withClient(url, (c) => c.query('ANALYZE')).then(() => undefined);

export type ChildMode = 'suite' | 'sweep' | 'claims' | 'processed';

const log = (line: string) => console.log(line);

/** Jobs per drain of the concurrency sweep: fewer at low concurrency, where each job costs more, to bound the run time. */
const SWEEP_JOBS: Record<number, number> = { 1: 3_000, 8: 10_000, 32: 20_000, 128: 20_000 };
const sweepSize = (concurrency: number): [number, number] => [
  (SWEEP_JOBS[concurrency] ?? 20_000) / (process.env.BENCH_QUICK === '1' ? 10 : 1),
  concurrency,
];

async function main(): Promise<unknown> {
  const [mode, key, url, argument] = process.argv.slice(2) as [ChildMode, string, string, string | undefined];
  const entry = SYSTEMS.find((s) => s.key === key);
  if (!entry) throw new Error(`unknown system ${key}`);
  const system = entry.load();

  switch (mode) {
    case 'suite':
      return { config: system.config, ...(await runSuite(system.create(url), log, () => analyze(url))) };

    case 'sweep':
    case 'processed': {
      // sweep: bulk-enqueue `jobs` and drain at `concurrency`; processed: 1M jobs through the queue at 32.
      const [jobs, concurrency] = mode === 'sweep' ? sweepSize(Number(argument)) : [Number(argument), SIZES.drainConcurrency];
      const adapter = system.create(url);
      await adapter.open();
      const enqueueMs = await enqueueInBatches(adapter, jobs, SIZES.bulkBatch);
      await analyze(url);
      const result = await drain(adapter, jobs, concurrency);
      await adapter.stop();
      log(
        `  ${jobs} jobs at concurrency ${concurrency}: drain ${result.jobsPerSec.toFixed(0)} jobs/s, peak RSS ${result.peakRssMb.toFixed(0)} MB`,
      );
      return { jobs, concurrency, enqueuePerSec: jobs / (enqueueMs / 1000), ...result };
    }

    case 'claims':
      return measureClaims(url, claimCases(), log);
  }
}

main().then(
  (result) => process.send!({ ok: true, result }, () => process.exit(0)),
  (error) => {
    console.error(error);
    process.send!({ ok: false, error: error instanceof Error ? error.message : String(error) }, () => process.exit(1));
  },
);
