import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import knex from 'knex';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { InvalidJobOptionError, JobHandler, type JobContext, type JobSnapshot, type TransactionClient } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

const ran = new Recorder<string>();

@Injectable()
class Handlers {
  @JobHandler('orm.work')
  async work(_: unknown, ctx: JobContext) {
    ran.push(ctx.job.id);
  }
}

/** An ORM's own pool on the test database, and transactions whose handle is given to `client`. */
interface OrmSession {
  /** Runs `work` in a transaction of the ORM and hands it the handle: commits when it returns, rolls back when it throws. */
  transaction<T>(work: (client: TransactionClient) => Promise<T>): Promise<T>;
  /** A handle of the same ORM outside any transaction (its types may refuse it already, as Drizzle's do). */
  outside: unknown;
  close(): Promise<void>;
}

const ORMS: Array<[string, (url: string) => Promise<OrmSession>]> = [
  [
    'TypeORM EntityManager',
    async (url) => {
      const dataSource = await new DataSource({ type: 'postgres', url }).initialize();
      return {
        transaction: (work) => dataSource.transaction((manager) => work(manager)),
        outside: dataSource.manager,
        close: () => dataSource.destroy(),
      };
    },
  ],
  [
    'TypeORM QueryRunner',
    async (url) => {
      const dataSource = await new DataSource({ type: 'postgres', url }).initialize();
      return {
        async transaction(work) {
          const runner = dataSource.createQueryRunner();
          try {
            await runner.startTransaction();
            const result = await work(runner);
            await runner.commitTransaction();
            return result;
          } catch (error) {
            if (runner.isTransactionActive) await runner.rollbackTransaction();
            throw error;
          } finally {
            await runner.release();
          }
        },
        outside: dataSource.createQueryRunner(), // never connected: the refused enqueue does not use it
        close: () => dataSource.destroy(),
      };
    },
  ],
  [
    'Knex',
    async (url) => {
      const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
      return { transaction: (work) => db.transaction((trx) => work(trx)), outside: db, close: () => db.destroy() };
    },
  ],
  [
    'Drizzle (node-postgres)',
    async (url) => {
      const pool = new Pool({ connectionString: url, max: 4 });
      const db = drizzle({ client: pool });
      return { transaction: (work) => db.transaction((tx) => work(tx)), outside: db, close: () => pool.end() };
    },
  ],
  [
    'Kysely (PostgresDialect, CamelCasePlugin)',
    async (url) => {
      // The plugin would rename the columns of our rows and the keys of payloads: the enqueue must not go through it.
      const db = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new Pool({ connectionString: url, max: 4 }) }),
        plugins: [new CamelCasePlugin()],
      });
      return { transaction: (work) => db.transaction().execute((trx) => work(trx)), outside: db, close: () => db.destroy() };
    },
  ],
  [
    'MikroORM',
    async (url) => {
      const orm = await MikroORM.init({ clientUrl: url, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 4 } });
      return {
        transaction: (work) => orm.em.fork().transactional((em) => work(em)),
        outside: orm.em.fork(),
        close: () => orm.close(true),
      };
    },
  ],
  [
    'Prisma (adapter-pg)',
    async (url) => {
      const { PrismaClient } = await generatedPrismaClient();
      const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 4 }) });
      return { transaction: (work) => prisma.$transaction((tx) => work(tx)), outside: prisma, close: () => prisma.$disconnect() };
    },
  ],
];

class RolledBack extends Error {}

describe('enqueue inside an ORM transaction', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A poll floor of a minute: a job that runs within seconds was woken by the NOTIFY of its commit.
    app = await startQueueApp(db, { providers: [Handlers], worker: { pollIntervalMs: 60_000 } });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const jobCount = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${db.schema}.jobs`))[0].n);

  describe.each(ORMS)('%s', (name, open) => {
    let orm: OrmSession;
    beforeEach(async () => {
      orm = await open(db.url);
    });
    afterEach(async () => {
      await orm?.close();
    });

    it('leaves no job when the transaction rolls back', async () => {
      const ids: string[] = [];
      await expect(
        orm.transaction(async (client) => {
          ids.push((await app.queue.enqueue('orm.work', { step: 1 }, { client })).id);
          const many = await app.queue.enqueueMany(
            [
              { type: 'orm.work', payload: { step: 2 } },
              { type: 'orm.work', payload: { step: 3 }, jobKey: `rollback ${name}` },
            ],
            { client },
          );
          ids.push(...many.map((job) => job.id));
          throw new RolledBack('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(ids).toHaveLength(3);
      expect(await db.query(`SELECT id FROM ${db.schema}.jobs WHERE id = ANY($1::bigint[])`, [ids])).toEqual([]);
    });

    it('makes the jobs exist, and wakes the worker, only when the transaction commits', async () => {
      const overlapping = watchOverlappingEnqueues();
      let ids: string[] = [];
      try {
        await orm.transaction(async (client) => {
          // Started at once on one handle, plain and keyed (two statements): ours go one after another.
          const jobs = await Promise.all(
            [1, 2, 3, 4, 5, 6].map((step) =>
              step % 3 === 0
                ? app.queue.enqueueMany([{ type: 'orm.work', payload: { step } }], { client }).then(([job]) => job)
                : app.queue.enqueue('orm.work', { step }, { client, ...(step % 2 ? { jobKey: `commit ${name} ${step}` } : {}) }),
            ),
          );
          ids = jobs.map((job) => job.id);
          // Held open: a job enqueued outside it now is claimed and run (the worker is awake and claiming), while
          // no other connection sees the transaction's jobs and the worker has run none of them.
          const probe = await app.queue.enqueue('orm.work', { probe: name });
          await waitFor(() => ran.events.includes(probe.id), { message: 'the probe job run while the transaction is open' });
          expect(await Promise.all(ids.map((id) => app.queue.getJob(id)))).toEqual(ids.map(() => null));
          expect(ran.events.filter((id) => ids.includes(id))).toEqual([]);
        });
      } finally {
        overlapping.stop();
      }
      await waitFor(() => ids.every((id) => ran.events.includes(id)), { timeoutMs: 5000, message: 'jobs woken by NOTIFY after commit' });
      await waitFor(async () => (await Promise.all(ids.map((id) => app.queue.getJob(id)))).every((job) => job?.status === 'completed'));
      expect(overlapping.overlaps()).toBe(0);
    });

    it('returns the snapshots that reading the jobs back gives', async () => {
      // Keys in snake_case (a plugin must not rename them), text that looks like placeholders, numbers and nulls.
      const payload = { order_id: 42, note: 'why? $1 ?? \\?', ratio: 0.5, tags: ['a', null, true], nested: { deep_key: {} } };
      const runAt = new Date(Date.now() + 3_600_000);
      const snapshots = await orm.transaction(async (client) => [
        await app.queue.enqueue('orm.kept', payload, { client, priority: 7, maxAttempts: 2 }), // the plain insert
        await app.queue.enqueue('orm.kept', payload, { client, jobKey: `kept ${name}`, runAt }), // the whole-row insert
        ...(await app.queue.enqueueMany(
          [
            { type: 'orm.kept', payload: null, delayMs: 60_000 },
            { type: 'orm.kept', payload: 'text', queue: `queue ${name}` },
          ],
          { client },
        )),
      ]);
      for (const snapshot of snapshots) {
        expect(snapshot).toStrictEqual(await app.queue.getJob(snapshot.id));
        expect(snapshot.runAt).toBeInstanceOf(Date);
        expect(snapshot.createdAt).toBeInstanceOf(Date);
      }
      expect(snapshots.map((job: JobSnapshot) => [typeof job.id, job.payload])).toEqual([
        ['string', payload],
        ['string', payload],
        ['string', null],
        ['string', 'text'],
      ]);
    });

    it('refuses a handle that is not inside a transaction, before writing anything', async () => {
      const before = await jobCount();
      const enqueue = app.queue.enqueue('orm.work', {}, { client: orm.outside as TransactionClient });
      await expect(enqueue).rejects.toBeInstanceOf(InvalidJobOptionError);
      await expect(enqueue).rejects.toThrow('is not inside a transaction');
      await expect(
        app.queue.enqueueMany([{ type: 'orm.work', payload: {} }], { client: orm.outside as TransactionClient }),
      ).rejects.toBeInstanceOf(InvalidJobOptionError);
      expect(await jobCount()).toBe(before);
    });
  });

  it('refuses anything else as client with InvalidJobOptionError naming what it accepts, before writing anything', async () => {
    const query = jest.fn();
    const pool = new Pool({ connectionString: db.url });
    const dataSource = new DataSource({ type: 'postgres', url: db.url }); // not initialised: opens no connection
    try {
      const before = await jobCount();
      for (const client of [{}, { query }, pool, dataSource, () => undefined, 'client', null]) {
        const refused = app.queue.enqueue('orm.work', {}, { client: client as TransactionClient });
        await expect(refused).rejects.toBeInstanceOf(InvalidJobOptionError);
        await expect(refused).rejects.toThrow(
          /expected a handle on your open transaction: a node-postgres client .*TypeORM.*knex.*Drizzle.*Kysely.*MikroORM.*prisma/,
        );
        await expect(
          app.queue.enqueueMany([{ type: 'orm.work', payload: {} }], { client: client as TransactionClient }),
        ).rejects.toBeInstanceOf(InvalidJobOptionError);
      }
      expect(query).not.toHaveBeenCalled();
      expect(await jobCount()).toBe(before);
    } finally {
      await pool.end();
    }
  });
});

/**
 * Counts the enqueue statements given to a node-postgres client while it still runs another one (pg deprecates a
 * query given to a busy client, and pg 9 refuses it). Wraps Client.prototype.query, passing every call through: pg
 * reports its deprecation once per process, on the real `process`, which a jest test cannot listen to.
 */
function watchOverlappingEnqueues() {
  const prototype = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  const running = new WeakMap<object, number>();
  let overlaps = 0;
  prototype.query = function (this: object, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || !text.includes('jsonb_to_recordset')) return query.apply(this, args);
    const count = running.get(this) ?? 0;
    if (count > 0) overlaps += 1;
    running.set(this, count + 1);
    const done = () => running.set(this, (running.get(this) ?? 1) - 1);
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        done();
        return (callback as (...results: unknown[]) => unknown)(...results);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args);
    void Promise.resolve(result).then(done, done);
    return result;
  };
  return { overlaps: () => overlaps, stop: () => (prototype.query = query) };
}

interface GeneratedPrismaClient {
  $transaction<T>(work: (tx: TransactionClient) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}

let prismaClient: Promise<{ PrismaClient: new (options: { adapter: PrismaPg }) => GeneratedPrismaClient }> | undefined;

/**
 * A Prisma client with no models (raw queries need none), generated once per Prisma version under node_modules/.cache:
 * `prisma-client-js` with an output directory writes plain JavaScript with its runtime beside it, which needs only
 * packages that node_modules holds.
 */
function generatedPrismaClient() {
  prismaClient ??= (async () => {
    const cli = require.resolve('prisma/build/index.js');
    const { version } = JSON.parse(readFileSync(require.resolve('prisma/package.json'), 'utf8')) as { version: string };
    const dir = path.resolve(__dirname, '../../node_modules/.cache/nestjs-pgqueue-tests', `prisma-${version}`);
    const client = path.join(dir, 'client', 'index.js');
    if (!existsSync(client)) {
      mkdirSync(dir, { recursive: true });
      const schema = path.join(dir, 'schema.prisma');
      writeFileSync(
        schema,
        'generator client {\n  provider = "prisma-client-js"\n  output   = "./client"\n}\n\ndatasource db {\n  provider = "postgresql"\n}\n',
      );
      const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
      // `generate` never runs the schema engine, but the CLI fetches it first when it is missing, as it is where
      // install scripts were not run: a stand-in that exits lets `generate` run without a download.
      const engines = path.dirname(require.resolve('@prisma/engines/package.json'));
      if (!readdirSync(engines).some((file) => file.startsWith('schema-engine'))) {
        const stub = path.join(dir, 'schema-engine-stand-in');
        writeFileSync(stub, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
        env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
      }
      await promisify(execFile)(process.execPath, [cli, 'generate', '--schema', schema], { env, timeout: 120_000 });
    }
    return (await import(client)) as { PrismaClient: new (options: { adapter: PrismaPg }) => GeneratedPrismaClient };
  })();
  return prismaClient;
}
