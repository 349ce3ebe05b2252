/**
 * `npm start` (or `npm start -- --scale`, `npm start -- --only=nestjs-pgqueue,pg-boss`, `npm start -- --only=claims`):
 * every system in turn, each in its own child process on its own fresh database, then the raw SQL floor and
 * nestjs-pgqueue's cost-as-work-grows figures; prints one report and writes it to RESULTS.md.
 */
import { execFileSync, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ChildMode } from './child';
import type { ClaimResult } from './claims';
import { inFreshDatabase, REDIS, serverFacts, storage } from './db';
import { rawSqlFloor } from './floor';
import { pruneEverything } from './prune';
import { now } from './measure';
import { renderReport, type RunData } from './report';
import type { DrainResult, SuiteResult } from './suite';
import { SUBJECT, SYSTEMS } from './systems';

const args = process.argv.slice(2);
const scale = args.includes('--scale');
const quick = process.env.BENCH_QUICK === '1'; // job counts / 10 (suite.ts): a smoke test of the harness
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const CHILD_TIMEOUT_MS = 45 * 60_000; // a safety net only

/** Runs out/child.js in its own process and resolves with what it sends back. */
function runChild<T>(mode: ChildMode, key: string, url: string, argument = ''): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'child.js'), [mode, key, url, argument], { stdio: 'inherit' });
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${mode} ${key} did not finish within ${CHILD_TIMEOUT_MS / 60_000} min`));
    }, CHILD_TIMEOUT_MS);
    child.on('message', (message: { ok: boolean; result?: T; error?: string }) => {
      settled = true;
      if (message.ok) resolve(message.result as T);
      else reject(new Error(message.error));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!settled) reject(new Error(`${mode} ${key} exited with ${signal ?? code} before reporting`));
    });
  });
}

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(REDIS);
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

const version = (packageJson: string) => JSON.parse(readFileSync(packageJson, 'utf8')).version as string;
/**
 * `name version` of the first copy found, in the order Node resolves them from out/, or `name not installed` (a run
 * with --only needs only the packages of the systems it runs).
 */
const installed = (name: string, ...nodeModules: string[]) => {
  for (const dir of nodeModules) {
    try {
      return `${name} ${version(join(dir, name, 'package.json'))}`;
    } catch {}
  }
  return `${name} not installed`;
};

/** What exactly was measured: the library's version and commit (its working tree is often mid-change), and each peer's. */
function versions(): string {
  const root = join(__dirname, '..', '..');
  let commit = 'unknown commit';
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    commit = `git ${head}${dirty ? ' with uncommitted changes in lib/' : ''}`;
  } catch {}
  const peers = ['graphile-worker', 'pg-boss', 'bullmq', 'pg'].map((name) =>
    installed(name, join(__dirname, '..', 'node_modules'), join(root, 'node_modules')),
  );
  // The OpenTelemetry SDK of the nestjs-pgqueue + OTel SDK column: the repo root's devDependencies.
  const otel = ['api', 'sdk-trace-base', 'sdk-metrics', 'context-async-hooks'].map((name) =>
    installed(`@opentelemetry/${name}`, join(root, 'node_modules')),
  );
  return [`nestjs-pgqueue ${version(join(root, 'package.json'))} (${commit})`, ...peers, ...otel].join(', ');
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function main(): Promise<void> {
  const started = now();
  const data: RunData = {
    startedAt: new Date(),
    seconds: 0,
    scale,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      ramGb: totalmem() / 1024 ** 3,
      node: process.version,
      os: `${process.platform} ${release()}`,
      loadStart: loadavg(),
      loadEnd: [],
    },
    server: await serverFacts(),
    versions: versions(),
    systems: [],
    floors: [],
    sweep: [],
    notes: [],
  };
  console.log(`nestjs-pgqueue benchmark: ${data.machine.cpus} CPUs, Node ${data.machine.node}, PostgreSQL ${data.server.version}`);

  // The floor runs before the systems and again after them: on a shared machine the spread shows the drift.
  const measureFloor = async (when: string) => {
    if (only && !only.includes('floor')) return;
    console.log(`\nraw SQL floor (${when})`);
    try {
      const f = await inFreshDatabase('floor', rawSqlFloor);
      data.floors.push(f);
      console.log(
        `  single-row INSERT ${f.single_insert.toFixed(0)}/s, multi-row INSERT ${f.multi_row_insert.toFixed(0)}/s, claim-and-delete ${f.claim_delete.toFixed(0)}/s`,
      );
    } catch (error) {
      data.notes.push(`raw SQL floor (${when}) failed: ${message(error)}`);
    }
  };

  await measureFloor('before the systems');
  const redisUp = await redisAnswers();
  for (const entry of SYSTEMS.filter((s) => !only || only.includes(s.key))) {
    if (entry.backend === 'redis' && !redisUp) {
      data.notes.push(`${entry.name}: skipped, no Redis answered at ${REDIS.host}:${REDIS.port}.`);
      continue;
    }
    console.log(`\n${entry.name}`);
    const run: RunData['systems'][number] = {
      key: entry.key,
      name: entry.name,
      backend: entry.backend,
      variantOf: entry.variantOf,
      metrics: {},
      errors: [],
    };
    data.systems.push(run);
    const t = now();
    try {
      await inFreshDatabase(entry.key, async (url) => {
        const result = await runChild<SuiteResult & { config: string }>('suite', entry.key, url);
        Object.assign(run, { config: result.config, metrics: result.metrics, errors: result.errors });
        if (entry.backend === 'postgres') {
          run.storage = await storage(url);
          run.metrics.storage_mb = run.storage.tableMb + run.storage.indexMb;
        }
      });
    } catch (error) {
      run.errors.push(message(error));
      console.log(`  FAILED: ${message(error)}`);
    }
    run.seconds = (now() - t) / 1000;
  }

  await measureFloor('after the systems');

  // nestjs-pgqueue's own sections run with it, or alone by name: --only=claims runs the claim-time section only.
  const section = (name: 'sweep' | 'claims') => !only || only.includes(SUBJECT) || only.includes(name);
  if (section('sweep')) {
    console.log(`\n${SUBJECT}: drain by concurrency`);
    for (const concurrency of [1, 8, 32, 128]) {
      try {
        data.sweep.push(
          await inFreshDatabase(`sweep_${concurrency}`, (url) =>
            runChild<DrainResult & { concurrency: number; jobs: number }>('sweep', SUBJECT, url, String(concurrency)),
          ),
        );
      } catch (error) {
        data.notes.push(`drain at concurrency ${concurrency} failed: ${message(error)}`);
      }
    }
  }
  if (section('claims')) {
    console.log(`\n${SUBJECT}: claim time as the table grows`);
    try {
      data.claims = await inFreshDatabase('claims', (url) => runChild<ClaimResult[]>('claims', SUBJECT, url));
    } catch (error) {
      data.notes.push(`claim-time measurement failed: ${message(error)}`);
    }
  }
  if (scale && (!only || only.includes(SUBJECT))) {
    console.log(`\n${SUBJECT}: ${quick ? '100,000' : '1,000,000'} jobs through the queue, then its storage`);
    try {
      data.processed = await inFreshDatabase('processed', async (url) => {
        const result = await runChild<DrainResult & { jobs: number; enqueuePerSec: number }>(
          'processed',
          SUBJECT,
          url,
          String(quick ? 100_000 : 1_000_000),
        );
        const kept = await storage(url, 'pgqueue'); // the default retention keeps completed jobs a day
        return { ...result, storage: kept, pruned: await pruneEverything(url) };
      });
    } catch (error) {
      data.notes.push(`1M processed jobs failed: ${message(error)}`);
    }
  }

  data.machine.loadEnd = loadavg();
  data.seconds = (now() - started) / 1000;
  const report = renderReport(data);
  console.log(`\n${report.console}`);
  const file = join(__dirname, '..', 'RESULTS.md');
  if (only || quick) console.log(`(--only or BENCH_QUICK given: ${file} left unchanged)`);
  else {
    writeFileSync(file, report.markdown);
    console.log(`written to ${file}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
