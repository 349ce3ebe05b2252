/**
 * Drives test/faults/fixtures/owned-postgres.ts: a PostgreSQL server a fault test owns and may stop, start and
 * restart (never the shared test server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

export class OwnedPostgres {
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.on('data', (chunk) => (this.output += chunk));
  }

  /** Initialises a fresh cluster on a free port; not started yet. */
  static async create(): Promise<OwnedPostgres> {
    const child = spawn(
      process.execPath,
      ['-r', join(ROOT, 'test/fixtures/register-ts.js'), join(ROOT, 'test/faults/fixtures/owned-postgres.ts')],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString();
        const match = /^url (\S+)$/m.exec(buffered);
        if (match) {
          child.stdout?.off('data', onData);
          resolve(match[1]);
        } else if (/^error init/m.test(buffered)) reject(new Error(buffered));
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`owned PostgreSQL helper exited (${code}) before it was initialised:\n${buffered}`)));
    });
    return new OwnedPostgres(child, url);
  }

  start(): Promise<void> {
    return this.command('start');
  }

  /** Fast shutdown: every session is terminated. */
  stop(): Promise<void> {
    return this.command('stop');
  }

  /** Stops the server and removes its data; the helper process exits. */
  async quit(): Promise<void> {
    if (this.child.exitCode === null) this.child.stdin?.end('quit\n');
    await this.exited;
  }

  private async command(name: string): Promise<void> {
    const from = this.output.length;
    this.child.stdin?.write(`${name}\n`);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const answer = this.output.slice(from);
        if (new RegExp(`^ok ${name}$`, 'm').test(answer)) return done(resolve);
        const failure = new RegExp(`^error ${name} .*$`, 'm').exec(answer);
        if (failure) return done(() => reject(new Error(failure[0])));
      };
      const done = (settle: () => void) => {
        this.child.stdout?.off('data', check);
        settle();
      };
      this.child.stdout?.on('data', check);
      check();
    });
  }
}
