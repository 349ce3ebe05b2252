/**
 * Real worker processes for the fault suite (test/faults/fixtures/fault-worker.ts, run from the TypeScript sources
 * through test/fixtures/register-ts.js), and file gates that hold their handlers until a test opens them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURE = join(ROOT, 'test/faults/fixtures/fault-worker.ts');
const REGISTER = join(ROOT, 'test/fixtures/register-ts.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FaultWorker {
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the process printed "ready"; rejects if it exits first or takes longer than 60 s. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The database clock right after the process exited (for the ledger's runs it left open). */
  readonly diedAt: Promise<Date>;
  readonly alive: boolean;
  kill(signal: NodeJS.Signals): void;
}

/** File gates: a handler given `gate: name` waits until the test opens it. */
export class Gates {
  readonly dir = mkdtempSync(join(tmpdir(), 'pgqueue-faults-'));
  open(name: string): void {
    writeFileSync(join(this.dir, name), '');
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts and tracks worker processes; killAll() in afterAll/afterEach leaves nothing running. */
export class Fleet {
  readonly workers: FaultWorker[] = [];

  constructor(
    private readonly admin: Pool,
    private readonly baseEnv: Record<string, string>,
  ) {}

  /** Spawns a worker process; does not wait for it to be ready. */
  spawn(env: Record<string, string | number> = {}): FaultWorker {
    const child = spawn(process.execPath, ['-r', REGISTER, FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, ...this.baseEnv, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    let alive = true;
    const exited = new Promise<Exit>((resolve) =>
      child.once('exit', (code, signal) => {
        alive = false;
        resolve({ code, signal });
      }),
    );
    const diedAt = exited.then(async () => {
      try {
        const { rows } = await this.admin.query<{ now: Date }>('SELECT clock_timestamp() AS now');
        return rows[0].now;
      } catch {
        return new Date();
      }
    });
    // Event-driven (not a poll): settles as soon as the process prints "ready" or exits, and holds no timer after.
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker process ${child.pid} not ready after 60 s:\n${output}`)), 60_000);
      const onData = () => {
        if (!output.includes('ready\n')) return;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      };
      child.stdout?.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`worker process ${child.pid} exited before it was ready:\n${output}`));
      });
    });
    ready.catch(() => undefined);
    const worker: FaultWorker = {
      pid: child.pid as number,
      child,
      output: () => output,
      ready,
      exited,
      diedAt,
      get alive() {
        return alive;
      },
      kill: (signal) => {
        if (alive) child.kill(signal);
      },
    };
    this.workers.push(worker);
    return worker;
  }

  /** Spawns a worker process and waits until it is ready. */
  async start(env: Record<string, string | number> = {}): Promise<FaultWorker> {
    const worker = this.spawn(env);
    await worker.ready;
    return worker;
  }

  /** Death times (database clock) of every process that exited so far. */
  async deaths(): Promise<Map<number, Date>> {
    const dead = this.workers.filter((w) => !w.alive);
    return new Map(await Promise.all(dead.map(async (w) => [w.pid, await w.diedAt] as const)));
  }

  /** Everything the processes printed, for failure messages. */
  outputs(): string {
    return this.workers.map((w) => `--- pid ${w.pid}${w.alive ? '' : ' (exited)'} ---\n${w.output().slice(-4000)}`).join('\n');
  }

  async killAll(): Promise<void> {
    for (const worker of this.workers) worker.kill('SIGKILL');
    await Promise.all(this.workers.map((w) => w.diedAt));
  }
}
