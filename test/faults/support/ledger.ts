/**
 * The side-effect ledger of the fault suite, and what every fault test derives from it.
 *
 * Two tables in the test schema:
 * - `fault_ledger`: written by the handlers of test/faults/fixtures/fault-worker.ts on their own connections:
 *   one row per `start`, `abort` and `end` of a handler run (run id, job id, attempt, claim token, pid,
 *   clock_timestamp()), plus process events (`ready`, `sigterm`, `conn`, `stats`).
 * - `fault_audit`: written by a trigger on the queue's jobs table: every change of a job's status or claim token,
 *   with the old and new state, the pid of the worker process whose connection made it (`faults.pid`, set by the
 *   fixture on every connection of the queue's pool; NULL for the test process), and which handler run produced
 *   the stored result or error (`runId` in the result, `run=<id>` in last_error).
 *
 * From these, analyzeLedger() derives:
 * - lost: committed jobs that are not in a final state (call it once the test waited for them to settle);
 * - duplicates: jobs whose handler started more than once;
 * - overlaps: two runs of one job alive at the same time (a run ends with its `end` record, or when its process
 *   died; an aborted handler that never returns is still running);
 * - stale writes: a state change the database accepted from a worker that no longer held the lease:
 *   (a) a job left a final state (a rescuer or a late worker overwrote a finished job);
 *   (b) a worker process changed a running job whose `locked_by` named another process, other than by recovering
 *       an expired lease;
 *   (c) the run whose result or error was stored did not hold the claim token that the write replaced;
 *   (d) the run whose result or error was stored was superseded: a later run of the same job had started
 *       before the write was accepted (a completion from a run whose attempt is not the job's latest).
 */
import type { Pool } from 'pg';

export const FINAL_STATES = ['completed', 'failed', 'cancelled'] as const;

/** Creates the ledger table (and the schema, which the queue's migration then reuses). Idempotent. */
export async function installLedger(admin: Pool, schema: string): Promise<void> {
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await admin.query(`
    CREATE TABLE IF NOT EXISTS "${schema}".fault_ledger (
      seq     bigserial PRIMARY KEY,
      run_id  uuid,
      job_id  bigint,
      attempt int,
      token   uuid,
      pid     int NOT NULL,
      event   text NOT NULL,
      detail  jsonb,
      at      timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
}

/** Adds the audit trigger to the queue's jobs table (after its migration ran). Idempotent. */
export async function installAudit(admin: Pool, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await admin.query(`
    CREATE TABLE IF NOT EXISTS ${s}.fault_audit (
      seq           bigserial PRIMARY KEY,
      job_id        bigint NOT NULL,
      old_status    text, new_status text,
      old_token     uuid, new_token uuid,
      old_locked_by text, new_locked_by text,
      old_attempts  int, new_attempts int,
      old_lease     timestamptz,
      writer_pid    int,
      writer_run    uuid,
      last_error    text,
      at            timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
  await admin.query(`
    CREATE OR REPLACE FUNCTION ${s}.fault_audit_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO ${s}.fault_audit (job_id, old_status, new_status, old_token, new_token, old_locked_by, new_locked_by,
                                    old_attempts, new_attempts, old_lease, writer_pid, writer_run, last_error)
      VALUES (NEW.id, OLD.status, NEW.status, OLD.claim_token, NEW.claim_token, OLD.locked_by, NEW.locked_by,
              OLD.attempts, NEW.attempts, OLD.lease_expires_at,
              nullif(current_setting('faults.pid', true), '')::int,
              CASE
                WHEN NEW.status = 'completed' AND jsonb_typeof(NEW.result) = 'object'
                     AND NEW.result->>'runId' ~ '^[0-9a-f-]{36}$' THEN (NEW.result->>'runId')::uuid
                WHEN NEW.last_error IS DISTINCT FROM OLD.last_error
                     THEN substring(NEW.last_error from 'run=([0-9a-f-]{36})')::uuid
              END,
              left(NEW.last_error, 300));
      RETURN NULL;
    END
    $fn$`);
  await admin.query(`DROP TRIGGER IF EXISTS fault_audit ON ${s}.jobs`);
  await admin.query(`
    CREATE TRIGGER fault_audit AFTER UPDATE ON ${s}.jobs FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.claim_token IS DISTINCT FROM NEW.claim_token)
      EXECUTE FUNCTION ${s}.fault_audit_row()`);
}

export interface LedgerRun {
  runId: string;
  jobId: string;
  attempt: number;
  token: string | null;
  pid: number;
  startedAt: Date;
  endedAt: Date | null;
  outcome: string | null;
  aborts: Array<{ reason: string; at: Date }>;
  /** When the run stopped: its `end`, else its process's death, else null (still running, or hung). */
  stoppedAt: Date | null;
}

export interface AuditRow {
  seq: string;
  job_id: string;
  old_status: string;
  new_status: string;
  old_token: string | null;
  new_token: string | null;
  old_locked_by: string | null;
  new_locked_by: string | null;
  old_attempts: number;
  new_attempts: number;
  old_lease: Date | null;
  writer_pid: number | null;
  writer_run: string | null;
  last_error: string | null;
  at: Date;
}

export interface JobState {
  id: string;
  type: string;
  status: string;
  attempts: number;
  max_attempts: number | null;
  result: unknown;
  last_error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface StaleWrite {
  jobId: string;
  why: string;
}

export interface LedgerReport {
  jobs: JobState[];
  runs: LedgerRun[];
  runsByJob: Map<string, LedgerRun[]>;
  audit: AuditRow[];
  lost: string[];
  duplicates: string[];
  overlaps: Array<{ jobId: string; first: string; second: string }>;
  staleWrites: StaleWrite[];
  /** A readable digest, for failure messages and logs. */
  summary(): string;
}

export interface AnalyzeOptions {
  /** Schema of the ledger when it is not the queue's. */
  ledgerSchema?: string;
  /** Death time (database clock) of each worker process that exited: ends the runs it left open. */
  deaths?: Map<number, Date>;
  /** Jobs the test leaves unfinished on purpose (e.g. no process handles their type). */
  ignore?: (job: JobState) => boolean;
}

/** The pid inside a `locked_by` (`host:<pid>:<random>`), or null. */
export function pidOfWorker(lockedBy: string | null): number | null {
  const match = lockedBy ? /:(\d+):[0-9a-f]{8}$/.exec(lockedBy) : null;
  return match ? Number(match[1]) : null;
}

export async function analyzeLedger(admin: Pool, schema: string, options: AnalyzeOptions = {}): Promise<LedgerReport> {
  const s = `"${schema}"`;
  const l = `"${options.ledgerSchema ?? schema}"`;
  const deaths = options.deaths ?? new Map<number, Date>();
  const { rows: jobs } = await admin.query<JobState>(
    `SELECT id::text, type, status, attempts, max_attempts, result, last_error, created_at, finished_at FROM ${s}.jobs ORDER BY id`,
  );
  const { rows: events } = await admin.query<{
    run_id: string;
    job_id: string;
    attempt: number;
    token: string | null;
    pid: number;
    event: string;
    detail: { outcome?: string; reason?: string } | null;
    at: Date;
  }>(`SELECT run_id::text, job_id::text, attempt, token::text, pid, event, detail, at FROM ${l}.fault_ledger
       WHERE run_id IS NOT NULL ORDER BY seq`);
  const { rows: audit } = await admin.query<AuditRow>(
    `SELECT seq::text, job_id::text, old_status, new_status, old_token::text, new_token::text, old_locked_by, new_locked_by,
            old_attempts, new_attempts, old_lease, writer_pid, writer_run::text, last_error, at
       FROM ${s}.fault_audit ORDER BY seq`,
  );

  const runs = new Map<string, LedgerRun>();
  for (const e of events) {
    if (e.event === 'start') {
      runs.set(e.run_id, {
        runId: e.run_id,
        jobId: e.job_id,
        attempt: e.attempt,
        token: e.token,
        pid: e.pid,
        startedAt: e.at,
        endedAt: null,
        outcome: null,
        aborts: [],
        stoppedAt: null,
      });
      continue;
    }
    const run = runs.get(e.run_id);
    if (!run) continue;
    if (e.event === 'end') {
      run.endedAt = e.at;
      run.outcome = e.detail?.outcome ?? null;
    } else if (e.event === 'abort') run.aborts.push({ reason: e.detail?.reason ?? '?', at: e.at });
  }
  for (const run of runs.values()) run.stoppedAt = run.endedAt ?? deaths.get(run.pid) ?? null;

  const runsByJob = new Map<string, LedgerRun[]>();
  for (const run of runs.values()) {
    const list = runsByJob.get(run.jobId) ?? [];
    list.push(run);
    runsByJob.set(run.jobId, list);
  }
  for (const list of runsByJob.values()) list.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());

  const final = new Set<string>(FINAL_STATES);
  const lost = jobs.filter((job) => !final.has(job.status) && !(options.ignore?.(job) ?? false)).map((job) => job.id);
  const duplicates = [...runsByJob].filter(([, list]) => list.length > 1).map(([id]) => id);

  const overlaps: LedgerReport['overlaps'] = [];
  for (const [jobId, list] of runsByJob) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const stopped = list[i].stoppedAt;
        if (stopped === null || list[j].startedAt.getTime() < stopped.getTime()) {
          overlaps.push({ jobId, first: list[i].runId, second: list[j].runId });
        }
      }
    }
  }

  const staleWrites: StaleWrite[] = [];
  for (const row of audit) {
    const at = `audit #${row.seq}: ${row.old_status} -> ${row.new_status}`;
    if (final.has(row.old_status)) {
      staleWrites.push({ jobId: row.job_id, why: `${at}: left a final state (writer pid ${row.writer_pid ?? 'test'})` });
      continue;
    }
    if (row.old_status !== 'running') continue;
    const holder = pidOfWorker(row.old_locked_by);
    const recovery =
      (row.new_status === 'pending' || row.new_status === 'failed') &&
      row.old_lease !== null &&
      row.old_lease.getTime() < row.at.getTime() &&
      (row.last_error ?? '').startsWith('Lease expired');
    if (row.writer_pid !== null && holder !== null && row.writer_pid !== holder && !recovery) {
      staleWrites.push({
        jobId: row.job_id,
        why: `${at}: written by pid ${row.writer_pid} while the lease was held by pid ${holder} (${row.old_locked_by})`,
      });
    }
    if (row.writer_run) {
      const writer = runs.get(row.writer_run);
      if (writer?.token && row.old_token && writer.token !== row.old_token) {
        staleWrites.push({
          jobId: row.job_id,
          why: `${at}: outcome of run ${writer.runId} (token ${writer.token}) accepted while the lease token was ${row.old_token}`,
        });
      }
    }
  }
  // (d) the accepted write came from a run that a later run of the job had already superseded.
  for (const row of audit) {
    const writer = row.writer_run ? runs.get(row.writer_run) : undefined;
    if (!writer) continue;
    const later = (runsByJob.get(row.job_id) ?? []).find(
      (r) => r !== writer && r.startedAt.getTime() > writer.startedAt.getTime() && r.startedAt.getTime() < row.at.getTime(),
    );
    if (later) {
      staleWrites.push({
        jobId: row.job_id,
        why: `audit #${row.seq}: ${row.old_status} -> ${row.new_status} written for run ${writer.runId} (attempt ${writer.attempt}, pid ${writer.pid}), superseded by run ${later.runId} (attempt ${later.attempt}, pid ${later.pid})`,
      });
    }
  }

  const report: LedgerReport = {
    jobs,
    runs: [...runs.values()],
    runsByJob,
    audit,
    lost,
    duplicates,
    overlaps,
    staleWrites,
    summary: () => {
      const byStatus = new Map<string, number>();
      for (const job of jobs) byStatus.set(job.status, (byStatus.get(job.status) ?? 0) + 1);
      return [
        `jobs ${jobs.length} (${[...byStatus].map(([k, v]) => `${k} ${v}`).join(', ')}), runs ${runs.size}`,
        `lost ${lost.length}${lost.length ? ` [${lost.slice(0, 10).join(', ')}]` : ''}`,
        `duplicates ${duplicates.length}${duplicates.length ? ` [${duplicates.slice(0, 10).join(', ')}]` : ''}`,
        `overlaps ${overlaps.length}${
          overlaps.length
            ? ` [${overlaps
                .slice(0, 5)
                .map((o) => o.jobId)
                .join(', ')}]`
            : ''
        }`,
        `stale writes ${staleWrites.length}${
          staleWrites.length
            ? `\n  ${staleWrites
                .slice(0, 10)
                .map((w) => `#${w.jobId}: ${w.why}`)
                .join('\n  ')}`
            : ''
        }`,
      ].join('; ');
    },
  };
  return report;
}

export interface HealthExpectations {
  /** Jobs allowed to have run more than once: those running where a fault was injected. */
  duplicatesAllowed?: Iterable<string>;
  /** Jobs allowed to have two runs alive at once (a hung or blocked run whose lease was taken over). */
  overlapsAllowed?: Iterable<string>;
}

/** The invariants of issue 4: lost = 0, stale writes = 0, duplicates and overlaps only where allowed. */
export function expectHealthy(report: LedgerReport, expectations: HealthExpectations = {}): void {
  const dupAllowed = new Set(expectations.duplicatesAllowed ?? []);
  const overlapAllowed = new Set(expectations.overlapsAllowed ?? []);
  const problems: string[] = [];
  // The harness itself: every claim must be attributed to the process that made it, or check (b) sees nothing.
  const unattributed = report.audit.filter(
    (a) => a.old_status === 'pending' && a.new_status === 'running' && a.writer_pid !== pidOfWorker(a.new_locked_by),
  );
  if (unattributed.length) problems.push(`harness: ${unattributed.length} claim(s) not attributed to their process (faults.pid)`);
  if (report.lost.length) problems.push(`lost jobs: ${report.lost.join(', ')}`);
  if (report.staleWrites.length) problems.push(`stale writes:\n  ${report.staleWrites.map((w) => `#${w.jobId}: ${w.why}`).join('\n  ')}`);
  const badDup = report.duplicates.filter((id) => !dupAllowed.has(id));
  if (badDup.length) problems.push(`jobs run more than once without a fault: ${badDup.join(', ')}`);
  const badOverlap = report.overlaps.filter((o) => !overlapAllowed.has(o.jobId));
  if (badOverlap.length) problems.push(`overlapping runs: ${badOverlap.map((o) => `#${o.jobId}`).join(', ')}`);
  if (problems.length) throw new Error(`ledger invariants violated (${report.summary()}):\n${problems.join('\n')}`);
}
