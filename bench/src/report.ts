import type { ClaimResult } from './claims';
import { ADMIN_URL, SERVER_SETTINGS, type Storage } from './db';
import { FLOOR, type FloorResult } from './floor';
import { FAILED_EVERY, FINISHED_TYPES, LISTING } from './listing';
import type { PruneResult } from './prune';
import { CLAIMS } from './claims';
import type { DrainResult, Metric } from './suite';
import { SIZES } from './suite';
import { SUBJECT } from './systems';

type Metrics = Partial<Record<Metric | 'storage_mb', number>>;

export interface RunData {
  startedAt: Date;
  seconds: number;
  scale: boolean;
  machine: { cpus: number; cpuModel: string; ramGb: number; node: string; os: string; loadStart: number[]; loadEnd: number[] };
  server: Record<string, string>;
  versions: string;
  systems: Array<{
    key: string;
    name: string;
    backend: 'postgres' | 'redis';
    /** The key of the system this one runs with something added (nestjs-pgqueue + OTel SDK): a column, not a peer. */
    variantOf?: string;
    config?: string;
    metrics: Metrics;
    storage?: Storage;
    errors: string[];
    seconds?: number;
  }>;
  /** The raw SQL floor, measured before the systems and after them. */
  floors: FloorResult[];
  sweep: Array<DrainResult & { concurrency: number; jobs: number }>;
  claims?: ClaimResult[];
  processed?: DrainResult & { jobs: number; enqueuePerSec: number; storage: Storage; pruned: PruneResult };
  notes: string[];
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const n1 = (v: number) => v.toFixed(1);
const n2 = (v: number) => v.toFixed(2);

const ROWS: Array<{
  metric: keyof Metrics;
  label: string;
  higherIsBetter: boolean;
  format: (v: number) => string;
  /** A figure of the PostgreSQL server: meaningless for a queue on Redis. */
  postgresOnly?: boolean;
}> = [
  { metric: 'enqueue_single', label: `enqueue_single: ${n0(SIZES.single)}, one at a time (jobs/s)`, higherIsBetter: true, format: n0 },
  {
    metric: 'enqueue_concurrent',
    label: `enqueue_concurrent: ${n0(SIZES.concurrent)} from ${SIZES.concurrentCallers} callers (jobs/s)`,
    higherIsBetter: true,
    format: n0,
  },
  {
    metric: 'enqueue_bulk',
    label: `enqueue_bulk: ${n0(SIZES.bulk)} in batches of ${n0(SIZES.bulkBatch)} (jobs/s)`,
    higherIsBetter: true,
    format: n0,
  },
  {
    metric: 'drain',
    label: `drain: ${n0(SIZES.single + SIZES.concurrent + SIZES.bulk)} jobs at concurrency ${SIZES.drainConcurrency} (jobs/s)`,
    higherIsBetter: true,
    format: n0,
  },
  {
    metric: 'drain_pg_cpu_us_per_job',
    label: 'drain: PostgreSQL server CPU per job (us)',
    higherIsBetter: false,
    format: n0,
    postgresOnly: true,
  },
  { metric: 'latency_p50', label: 'latency p50, enqueue to handler start (ms)', higherIsBetter: false, format: n2 },
  { metric: 'latency_p95', label: 'latency p95 (ms)', higherIsBetter: false, format: n2 },
  { metric: 'latency_p99', label: 'latency p99 (ms)', higherIsBetter: false, format: n2 },
  { metric: 'peak_rss_mb', label: 'peak RSS during the drain (MB)', higherIsBetter: false, format: n0 },
  { metric: 'drain_first_job_ms', label: 'drain: worker start to first job (ms)', higherIsBetter: false, format: n0 },
  { metric: 'storage_mb', label: 'tables + indexes after the run (MB)', higherIsBetter: false, format: n1 },
];

function table(headers: string[], rows: string[][], alignRight = (column: number) => column > 0): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => (alignRight(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (alignRight(c) ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function renderReport(data: RunData): { console: string; markdown: string } {
  const subject = data.systems.find((s) => s.key === SUBJECT);
  const peers = data.systems.filter((s) => s.key !== SUBJECT && !s.variantOf && s.backend === 'postgres');
  const variants = data.systems.filter((s) => s.variantOf);
  const redis = data.systems.find((s) => s.backend === 'redis');
  const best = (metric: keyof Metrics, higherIsBetter: boolean, among = peers) => {
    const candidates = among.filter((s) => s.metrics[metric] !== undefined);
    if (candidates.length === 0) return undefined;
    return candidates.reduce((a, b) =>
      (higherIsBetter ? b.metrics[metric]! > a.metrics[metric]! : b.metrics[metric]! < a.metrics[metric]!) ? b : a,
    );
  };

  const main = table(
    ['scenario', ...data.systems.map((s) => (s.backend === 'redis' ? `${s.name}, reference` : s.name)), 'best PostgreSQL peer'],
    ROWS.map(({ metric, label, higherIsBetter, format, postgresOnly }) => {
      const top = best(metric, higherIsBetter);
      const topValue = top?.metrics[metric];
      return [
        label,
        ...data.systems.map((s) => {
          const v = s.metrics[metric];
          if (v === undefined || (postgresOnly && s.backend === 'redis')) return 'n/a';
          return topValue ? `${format(v)} (${n2(v / topValue)}x)` : format(v);
        }),
        top ? top.name : 'n/a',
      ];
    }),
    (c) => c > 0,
  );

  const sections: string[] = [];
  sections.push(
    `## Side by side\n\nEach cell: the figure, then (in brackets) its ratio to the best PostgreSQL peer ` +
      `(${peers.map((p) => p.name).join(', ') || 'none measured in this run'}) for that row. For jobs/s higher is better; for ms and MB lower is better, ` +
      [
        'so there a ratio below 1.00x beats the best peer.',
        ...(redis ? [`${redis.name} is a reference line: not counted as a peer.`] : []),
        ...variants.map(
          (v) => `${v.name} is ${v.variantOf}'s own adapter with something added (see how each system is configured): not a peer.`,
        ),
      ].join(' ') +
      `\n\n${main}`,
  );

  for (const variant of variants) {
    const base = data.systems.find((s) => s.key === variant.variantOf);
    if (!base) continue;
    const rows = ROWS.filter((r) => base.metrics[r.metric] !== undefined && variant.metrics[r.metric] !== undefined).map((r) => [
      r.label,
      `${n2(variant.metrics[r.metric]! / base.metrics[r.metric]!)}x`,
    ]);
    sections.push(`### ${variant.name} against ${base.name}\n\n${table(['scenario', `${variant.name} / ${base.name}`], rows)}`);
  }

  if (subject && redis) {
    const rows = ROWS.filter(
      (r) => !r.postgresOnly && subject.metrics[r.metric] !== undefined && redis.metrics[r.metric] !== undefined,
    ).map((r) => [r.label, `${n2(subject.metrics[r.metric]! / redis.metrics[r.metric]!)}x`]);
    sections.push(
      `### ${SUBJECT} against ${redis.name} (the reference line)\n\n${table(['scenario', `${SUBJECT} / ${redis.name}`], rows)}`,
    );
  }

  if (subject) sections.push(`## Targets (this run)\n\n${targets(subject.metrics, peers)}`);

  if (data.floors.length > 0) {
    const rows: Array<[string, keyof FloorResult, keyof Metrics]> = [
      [`single-row INSERT, autocommit, ${n0(SIZES.single)} one at a time`, 'single_insert', 'enqueue_single'],
      [`multi-row INSERT ... VALUES, ${n0(SIZES.bulk)} rows in batches of ${n0(SIZES.bulkBatch)}`, 'multi_row_insert', 'enqueue_bulk'],
      [
        `claim-and-delete: DELETE ... USING (SELECT ... LIMIT ${FLOOR.claimBatch} FOR UPDATE SKIP LOCKED), ${FLOOR.claimConnections} connections`,
        'claim_delete',
        'drain',
      ],
    ];
    const whens = ['before the systems', 'after the systems'].slice(0, data.floors.length);
    sections.push(
      `## PostgreSQL floor: raw SQL on the same server, same run, no queue code\n\n` +
        `A bare table (bigint identity, jsonb payload, run_at), measured ${whens.join(' and ')}; ` +
        `the last column compares ${SUBJECT} with the better of the two.\n\n` +
        table(
          ['statement', ...whens.map((w) => `rows/s ${w}`), `${SUBJECT} figure`, 'as % of the floor'],
          rows.map(([label, key, metric]) => {
            const floor = Math.max(...data.floors.map((f) => f[key]));
            const v = subject?.metrics[metric];
            return [label, ...data.floors.map((f) => n0(f[key])), metric, v === undefined ? 'n/a' : `${n0((100 * v) / floor)}%`];
          }),
        ),
    );
  }

  if (data.sweep.length > 0) {
    sections.push(
      `## ${SUBJECT}: drain by concurrency (jobs bulk-enqueued, then drained from worker start; fresh database each)\n\n` +
        table(
          ['concurrency', 'jobs', 'jobs/s', 'seconds', 'peak RSS (MB)'],
          data.sweep.map((s) => [String(s.concurrency), n0(s.jobs), n0(s.jobsPerSec), n2(s.seconds), n0(s.peakRssMb)]),
        ),
    );
  }

  if (data.claims?.length) {
    sections.push(
      `## ${SUBJECT}: claim time as the table grows\n\nMedian of ${CLAIMS.count} claims of a batch of ${CLAIMS.batch}, each its own ` +
        `committed statement, run as a worker runs it: ClaimStore.claim of dist/ on a pool the library created. The table is filled with SQL, then ` +
        `VACUUM (ANALYZE) as autovacuum would. The drained case then claims and completes jobs a batch at a time with the worker's own ` +
        `statements, without a VACUUM, before the measured claims: a claim in the middle of a long drain.\n\n` +
        table(
          ['jobs table', 'claim median (ms)', 'claim p95 (ms)', 'table (MB)', 'indexes (MB)'],
          data.claims.map((c) => [c.label, n2(c.medianMs), n2(c.p95Ms), n1(c.tableMb), n1(c.indexMb)]),
        ),
    );
    for (const c of data.claims) {
      if (!c.listing?.length) continue;
      sections.push(
        `### listing and counting at ${c.finished / 1_000_000}M finished jobs\n\nEach listing and count ${LISTING.runs} times in a row on the ` +
          `'${c.label}' table, right after its claims (1 in ${FAILED_EVERY} finished jobs failed, the finished jobs spread over ` +
          `${FINISHED_TYPES.length} types): OperationsStore.list and .count of dist/, what QueueService.listJobs and countJobs run, on ` +
          `a pool the library created; a page holds ${LISTING.page} jobs, newest first, plus one that tells whether another page follows.\n\n` +
          table(
            ['listing or count', 'median (ms)', 'p95 (ms)'],
            c.listing.map((l) => [l.label, n2(l.medianMs), n2(l.p95Ms)]),
          ),
      );
    }
  }

  const storageRows: string[][] = [];
  if (subject?.storage) {
    const jobs = SIZES.single + SIZES.concurrent + SIZES.bulk + SIZES.latencyJobs;
    storageRows.push([`after the side-by-side run (${n0(jobs)} jobs processed)`, n1(subject.storage.tableMb), n1(subject.storage.indexMb)]);
  }
  if (data.processed) {
    const p = data.processed;
    storageRows.push(
      [
        `after ${n0(p.jobs)} jobs processed (enqueued ${n0(p.enqueuePerSec)}/s in batches of ${n0(SIZES.bulkBatch)}, drained ${n0(p.jobsPerSec)}/s at ${SIZES.drainConcurrency}), all kept by the default retention of 1 day`,
        n1(p.storage.tableMb),
        n1(p.storage.indexMb),
      ],
      [
        `then, their retention passed: ${n0(p.pruned.jobs)} pruned by the pruner's statement in ${n1(p.pruned.seconds)} s (${n0(p.pruned.jobs / p.pruned.seconds)} jobs/s), then VACUUM`,
        n1(p.pruned.tableMb),
        n1(p.pruned.indexMb),
      ],
    );
  }
  if (storageRows.length > 0) {
    sections.push(
      `## ${SUBJECT}: storage of its schema\n\n${table(['when', 'table (MB)', 'indexes (MB)'], storageRows)}` +
        (data.scale
          ? '\n\nVACUUM gives the pages of pruned jobs back for reuse and truncates empty pages at the end of the table; ' +
            'index files keep their size, and new entries reuse their free pages.'
          : '\n\nRun with `--scale` for the size after 1,000,000 processed jobs, and after they are pruned.'),
    );
  }

  const problems = [...data.systems.flatMap((s) => s.errors.map((e) => `${s.name}: ${e}`)), ...data.notes];
  if (problems.length > 0) sections.push(`## Problems in this run\n\n${problems.map((p) => `- ${p}`).join('\n')}`);

  const body = sections.join('\n\n');
  const m = data.machine;
  const facts =
    `- Machine: ${m.cpus} CPUs (${m.cpuModel}), ${n1(m.ramGb)} GB RAM, ${m.os}, Node ${m.node}; load average ` +
    `${m.loadStart.map(n2).join(' ')} at the start, ${m.loadEnd.map(n2).join(' ')} at the end (the machine is shared: figures are provisional)\n` +
    `- PostgreSQL ${data.server.version} at ${new URL(ADMIN_URL).host}: ${SERVER_SETTINGS.map((s) => `${s}=${data.server[s]}`).join(', ')}; ` +
    `${data.server.connections_in_use} connections in use at the start\n` +
    `- Versions: ${data.versions}\n` +
    `- Run: ${data.startedAt.toISOString()}, ${n0(data.seconds)} s in all${data.scale ? ', with --scale' : ''}`;
  const configs = data.systems
    .filter((s) => s.config)
    .map((s) => `- **${s.name}**: ${s.config}`)
    .join('\n');

  const method = [
    `Each system runs in its own child process (so peak RSS is its own), on a database created for it and dropped afterwards, in this order: ` +
      `enqueue_single, enqueue_concurrent and enqueue_bulk with no worker running, then the drain of all of those jobs (timed from just ` +
      `before the worker starts until every handler ran and the queue's own tables show no unfinished job), then the latency scenario ` +
      `into the same, now idle, worker. Payloads are \`{ i }\` (plus the enqueue time for latency); handlers do nothing.`,
    `This server runs with autovacuum=${data.server.autovacuum}. ${data.server.autovacuum === 'off' ? 'So that no system is measured on a table PostgreSQL has never analyzed, ' : ''}` +
      `the harness runs one ANALYZE of the database before the drain and before the latency scenario (an auto-analyze would have run by then), the same for every system.`,
    `Peak RSS: the kernel's high-water mark (VmHWM), reset just before the drain, with 20 ms sampling as a fallback.`,
    `PostgreSQL server CPU per drained job: user and system CPU of every \`postgres\` process (backends, WAL writer, checkpointer, autovacuum), ` +
      `read from /proc just before the worker starts and once the queue reports nothing unfinished, divided by the jobs drained. The server runs on ` +
      `the same machine; a process that exits in between is not counted.`,
    `Peers are the bench package's own dependencies (bench/package.json). pg-boss is pinned to 12.35.0: 12.38.0, the latest, needs ` +
      `rrule-temporal ^2.2.8, which this registry mirror does not have (12.36 and 12.37 are not on it). graphile-worker 0.18 and pg-boss 12 ` +
      `declare Node >= 22 in "engines"; they ran on Node ${data.machine.node} here without complaint.`,
  ];
  const markdown =
    `# Benchmark results\n\nWritten by \`cd bench && npm start${data.scale ? ' -- --scale' : ''}\` (or \`npm run bench\` from the repo root) ` +
    `at the end of its latest run; the method is at the end of this page.\n\n` +
    `${facts}\n\n${body}\n\n## How each system is configured\n\n${configs}\n\n## Method\n\n${method.map((m) => `- ${m}`).join('\n')}\n`;
  return { console: `${facts}\n\n${body}`, markdown };
}

function targets(s: Metrics, peers: RunData['systems']): string {
  const graphile = peers.find((p) => p.key === 'graphile-worker')?.metrics ?? {};
  const bestOf = (metric: keyof Metrics, higher: boolean) => {
    const values = peers.map((p) => p.metrics[metric]).filter((v): v is number => v !== undefined);
    return values.length ? (higher ? Math.max(...values) : Math.min(...values)) : undefined;
  };
  const ratio = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : a / b);
  const rows: Array<[string, string, boolean | undefined]> = [];
  const add = (target: string, value: number | undefined, shown: (v: number) => string, met: (v: number) => boolean) =>
    rows.push([target, value === undefined ? 'n/a' : shown(value), value === undefined ? undefined : met(value)]);
  const x = (v: number) => `${n2(v)}x`;
  add('drain >= 1.5x graphile-worker', ratio(s.drain, graphile.drain), x, (v) => v >= 1.5);
  add('enqueue_bulk >= 2x the best PostgreSQL peer', ratio(s.enqueue_bulk, bestOf('enqueue_bulk', true)), x, (v) => v >= 2);
  add(
    'enqueue_concurrent >= 10x the best PostgreSQL peer',
    ratio(s.enqueue_concurrent, bestOf('enqueue_concurrent', true)),
    x,
    (v) => v >= 10,
  );
  add('enqueue_single >= 2x graphile-worker', ratio(s.enqueue_single, graphile.enqueue_single), x, (v) => v >= 2);
  add(
    'latency p50 <= 2 ms',
    s.latency_p50,
    (v) => `${n2(v)} ms`,
    (v) => v <= 2,
  );
  add(
    'latency p99 <= 6 ms',
    s.latency_p99,
    (v) => `${n2(v)} ms`,
    (v) => v <= 6,
  );
  add('latency p50 below every PostgreSQL peer', ratio(s.latency_p50, bestOf('latency_p50', false)), x, (v) => v < 1);
  add('latency p99 below every PostgreSQL peer', ratio(s.latency_p99, bestOf('latency_p99', false)), x, (v) => v < 1);
  add('peak RSS no higher than graphile-worker', ratio(s.peak_rss_mb, graphile.peak_rss_mb), x, (v) => v <= 1);
  add(
    'drain: PostgreSQL CPU per job within 1.3x of graphile-worker',
    ratio(s.drain_pg_cpu_us_per_job, graphile.drain_pg_cpu_us_per_job),
    x,
    (v) => v <= 1.3,
  );
  return table(
    ['target', 'measured', 'met'],
    rows.map(([t, v, met]) => [t, v, met === undefined ? 'n/a' : met ? 'yes' : 'NO']),
  );
}
