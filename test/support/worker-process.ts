import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './database';

const ROOT = join(__dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts test/fixtures/worker-process.ts in its own Node process and waits until it has bootstrapped. */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['-r', join(ROOT, 'test/fixtures/register-ts.js'), join(ROOT, 'test/fixtures/worker-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exitCode: string | undefined;
  void exited.then(({ code, signal }) => (exitCode = `${code ?? signal}`));
  await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`worker process exited (${exitCode}) before it was ready:\n${output}`);
      return output.includes('ready');
    },
    { timeoutMs: 30_000, message: 'worker process ready' },
  );
  return { child, output: () => output, exited };
}
