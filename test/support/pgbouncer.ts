/**
 * A real PgBouncer (Debian's `pgbouncer` package) in transaction mode in front of the test server, for the tests of
 * `pooler: 'transaction'`. It keeps a small pool of server connections that every client shares, as in production:
 * session state one client leaves on a server connection shows up in the transactions of the next.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { waitFor } from './database';
import { freePort } from './embedded-postgres';

/** Where Debian's package puts it, and other usual places, before $PATH. */
const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/sbin/pgbouncer', '/usr/local/bin/pgbouncer'];
/** PgBouncer refuses to run as root; it then drops to this user, which always exists on Debian. */
const UNPRIVILEGED_USER = 'nobody';
const READY_TIMEOUT_MS = 15_000;

export interface PgBouncer {
  /** `upstreamUrl` with PgBouncer's host and port: same database, user and query parameters (application_name). */
  readonly url: string;
  /** Server connections PgBouncer keeps at most: every client shares these. */
  readonly poolSize: number;
  /** `pgbouncer --version`'s first line. */
  readonly version: string;
  /** Stops PgBouncer (its server connections close with it) and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
  /** PgBouncer's last output lines, for error messages. */
  log(): string;
}

export interface PgBouncerOptions {
  /** The PostgreSQL server (host, port, database, user, password) PgBouncer forwards to. */
  upstreamUrl: string;
  /** default_pool_size: small, so that connections are visibly shared. @default 2 */
  poolSize?: number;
}

/** Starts PgBouncer in transaction mode on a free port and waits until a query through it is answered. */
export async function startPgBouncer({ upstreamUrl, poolSize = 2 }: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer();
  const upstream = new URL(upstreamUrl);
  const database = decodeURIComponent(upstream.pathname.slice(1)) || 'postgres';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pgqueue-pgbouncer-'));
  chmodSync(dir, 0o755); // the unprivileged user reads the configuration from here
  const configPath = join(dir, 'pgbouncer.ini');
  writeFileSync(configPath, config({ upstream, database, port, poolSize }), { mode: 0o644 });

  const lines: string[] = [];
  const remember = (chunk: Buffer) => {
    lines.push(...chunk.toString().trimEnd().split('\n'));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  const asRoot = process.getuid?.() === 0;
  const child = spawn(binary, [...(asRoot ? ['-u', UNPRIVILEGED_USER] : []), configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', remember);
  child.stderr.on('data', remember);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      lines.push(String(error));
      resolve();
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGINT is PgBouncer's safe shutdown, which waits for clients; SIGTERM closes every connection at once.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    })());

  const url = new URL(upstreamUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.password = ''; // auth_type = any: PgBouncer logs in to the server with the password of its [databases] entry
  const bouncer: PgBouncer = {
    url: url.toString(),
    poolSize,
    version: await versionOf(binary),
    stop,
    log: () => lines.join('\n'),
  };
  try {
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(
      async () => {
        if (gone) throw new Error('exited');
        return answers(bouncer.url);
      },
      { timeoutMs: READY_TIMEOUT_MS, message: 'PgBouncer to answer a query' },
    ).catch((error: Error) => {
      throw new Error(`PgBouncer did not start (${gone ? 'it exited' : error.message}):\n${bouncer.log()}`, { cause: error });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return bouncer;
}

function findPgBouncer(): string {
  const found = [...BINARIES, ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'pgbouncer'))].find(
    (path) => path !== 'pgbouncer' && existsSync(path),
  );
  if (!found) {
    throw new Error(
      'pgbouncer is not installed, and the pooler tests run behind a real PgBouncer. ' +
        'Install it: `apt-get install -y pgbouncer` (Debian/Ubuntu; .ci/run does this when it is missing).',
    );
  }
  return found;
}

interface ConfigInput {
  upstream: URL;
  database: string;
  port: number;
  poolSize: number;
}

/**
 * Transaction mode, no client authentication (`any`: every client logs in to the server as the [databases] entry's
 * user), no Unix socket, logs to stderr. No ignore_startup_parameters: a client sending a startup parameter that a
 * stock PgBouncer refuses (statement_timeout, options) fails here as it would in production.
 */
function config({ upstream, database, port, poolSize }: ConfigInput): string {
  const server = {
    host: upstream.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: upstream.port || '5432',
    dbname: database,
    user: decodeURIComponent(upstream.username) || 'postgres',
    ...(upstream.password ? { password: decodeURIComponent(upstream.password) } : {}),
  };
  const entry = Object.entries(server)
    .map(([key, value]) => `${key}='${value.replace(/'/g, "''")}'`)
    .join(' ');
  return [
    '[databases]',
    `${database} = ${entry}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = any',
    'pool_mode = transaction',
    `default_pool_size = ${poolSize}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 500',
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n');
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function versionOf(binary: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', () => resolve('unknown version'));
    child.once('exit', () => resolve(out.split('\n')[0].trim() || 'unknown version'));
  });
}
