/**
 * Hostile input: payload, option and identifier fuzz at the producer API, and hostile values thrown or returned by
 * handlers in a real worker process. Each input is either rejected with a typed error (and nothing is written) or
 * round-trips as the README documents; no SQL runs that the caller did not intend; the worker keeps going.
 */
import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import {
  InvalidJobIdError,
  InvalidJobOptionError,
  InvalidJobTypeError,
  InvalidPayloadError,
  InvalidSchemaNameError,
  JobHandler,
  PgQueueConfigError,
  PgQueueError,
  type QueueService,
} from '../../lib';
import { startQueueApp, useQueueApps, type QueueApp } from '../support/queue-app';
import { expectHealthy } from './support/ledger';
import { openScene, type Scene } from './support/scene';

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
const circularArray: unknown[] = [1];
circularArray.push({ back: circularArray });
const nest = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
const MiB = 1024 * 1024;
/** Large values are compared by length and hash, so a failure message stays readable. */
const digest = (value: unknown): unknown => {
  const json = JSON.stringify(value);
  return json !== undefined && json.length > 2000 ? `${json.length} chars, sha1 ${createHash('sha1').update(json).digest('hex')}` : value;
};

describe('faults: hostile input', () => {
  let scene: Scene;
  /** A producer whose connections resolve unqualified names to the test schema, where the sentinel table `x` lives. */
  let producer: QueueApp;
  let queue: QueueService;
  const apps = useQueueApps();

  beforeAll(async () => {
    scene = await openScene();
    await scene.db.query(`CREATE TABLE "${scene.schema}".x (canary text); INSERT INTO "${scene.schema}".x VALUES ('alive')`);
    const url = new URL(scene.db.url);
    url.searchParams.set('options', `-c search_path=${scene.schema}`);
    producer = await startQueueApp(scene.db, {
      worker: { enabled: false },
      module: { connectionString: url.toString(), schema: scene.schema },
    });
    queue = producer.queue;
  });
  afterAll(async () => {
    await producer?.close();
    await scene?.close();
  });

  const jobCount = async () => Number((await scene.db.query<{ n: string }>(`SELECT count(*) AS n FROM "${scene.schema}".jobs`))[0].n);
  const sentinelIntact = async () => expect(await scene.db.query(`SELECT canary FROM "${scene.schema}".x`)).toEqual([{ canary: 'alive' }]);

  /** Rejected with `Type`, alone and inside a batch after a valid job, and nothing is written either way. */
  async function expectRejected(Type: new (...args: never[]) => Error, enqueue: () => Promise<unknown>, batch?: () => Promise<unknown>) {
    const before = await jobCount();
    const error = await enqueue().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Type);
    expect(error).toBeInstanceOf(PgQueueError);
    if (batch) {
      const batchError = await batch().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(batchError).toBeInstanceOf(Type);
      expect((batchError as Error).message).toContain('Job 1 of the batch');
    }
    expect(await jobCount()).toBe(before);
  }

  it('payload fuzz: what JSON cannot carry exactly is refused with InvalidPayloadError, nothing written', async () => {
    const refused: Array<[string, unknown]> = [
      ['BigInt', { n: 1n }],
      ['BigInt at the top', 10n],
      ['a circular object', circular],
      ['a cycle through an array', circularArray],
      ['a Date', { at: new Date() }],
      ['NaN', { x: NaN }],
      ['Infinity', [Infinity]],
      ['NUL in a value', { s: 'a\u0000b' }],
      ['NUL in a key', { ['a\u0000b']: 1 }],
      ['a lone high surrogate in a value', { s: 'x\ud800' }],
      ['a lone low surrogate in a key', { ['\udc00']: 1 }],
      ['a 20 MB string', 'x'.repeat(20 * MiB)],
      ['one byte over maxPayloadBytes', 'y'.repeat(MiB - 1)],
      ['nesting 201 deep', nest(201)],
      ['nesting 100000 deep', nest(100_000)],
      ['undefined at the top', undefined],
      ['undefined in an array', [1, undefined]],
      ['a function', { f: () => 1 }],
      ['a symbol value', { s: Symbol('s') }],
      ['a Map', new Map([[1, 2]])],
      [
        'a Set inside a class instance',
        new (class Tagged {
          tags = new Set(['a']);
        })(),
      ],
      ['an object with toJSON', { toJSON: () => 'x' }],
      [
        'a class instance with toJSON',
        new (class Decimalish {
          toJSON() {
            return '1.50';
          }
        })(),
      ],
      ['a boxed string', new String('x')],
    ];
    for (const [name, payload] of refused) {
      const started = Date.now();
      await expectRejected(
        InvalidPayloadError,
        () => queue.enqueue('fault.echo', payload),
        () =>
          queue.enqueueMany([
            { type: 'fault.echo', payload: {} },
            { type: 'fault.echo', payload },
          ]),
      ).catch((error: Error) => {
        throw new Error(`${name}: ${error.message}`);
      });
      expect([name, Date.now() - started < 5000]).toEqual([name, true]);
    }
    await sentinelIntact();
  });

  it('payload fuzz: what is accepted round-trips to getJob and to the handler as documented', async () => {
    const deep = nest(199); // the handler's result wraps it one level deeper, still within 200
    // [name, payload, expected (null: the payload itself), whether the handler can hand it back as its result]
    const cases: Array<[string, unknown, unknown, boolean?]> = [
      ['-0 becomes 0', { z: -0, list: [-0] }, { z: 0, list: [0] }],
      ['2^53+1 written as a number is already 2^53 in JavaScript', { n: 2 ** 53 + 1 }, { n: 2 ** 53 }],
      ['2^53+1 as a string stays exact', { n: '9007199254740993' }, { n: '9007199254740993' }],
      ['edge doubles', { a: 5e-324, b: 1.7976931348623157e308, c: 0.1 + 0.2, d: 1e21, e: -1e-7, f: 2 ** 53 - 1 }, null],
      ['undefined properties are dropped', { a: 1, b: undefined }, { a: 1 }],
      ['surrogate pairs in keys and values', { '😀': '𝄞 and 🎉' }, null],
      ['SQL and quoting in strings', { s: "'; DROP TABLE x; --", t: 'a$$b$fn$', u: "o'brien", v: '"q"', w: '\\' }, null],
      ['a __proto__ key stays a plain key', JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'), null],
      ['a null-prototype object', Object.assign(Object.create(null), { a: 1 }), { a: 1 }],
      ['nesting 199 deep', deep, null],
      ['control and separator characters', { s: '\u0001\u001f\u2028\u2029\t\n\r' }, null],
      ['empty structures', { a: {}, b: [], c: '' }, null],
      ['a top-level string', 'just a string', null],
      ['a top-level null', null, null],
      // Results are held to the payload limit too: this one cannot also come back wrapped in a result.
      ['a 1 MiB payload, exactly at the limit', 'y'.repeat(MiB - 2), null, false],
      // Was refused as "not a plain object" (issue 12): an instance is its own enumerable data, as in JSON.
      [
        'a class instance is stored as its own fields',
        new (class Point {
          x = 1;
          get y() {
            return 2;
          }
        })(),
        { x: 1 },
      ],
      ['a toJSON key that is not a function is an ordinary key', { toJSON: 'x', a: 1 }, null],
    ];
    const ids: string[] = [];
    for (const [, payload] of cases) ids.push((await queue.enqueue('fault.echo', payload)).id);
    for (const [i, [name, payload, expected]] of cases.entries()) {
      const stored = await queue.getJob(ids[i]);
      expect([name, digest(stored?.payload)]).toEqual([name, digest(expected ?? payload)]);
    }
    const proto = (await queue.getJob<Record<string, unknown>>(ids[7]))!.payload;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    await scene.fleet.start({ CONCURRENCY: 4 });
    await scene.settled(ids);
    for (const [i, [name, payload, expected, echoes]] of cases.entries()) {
      const job = await queue.getJob<unknown, { echo: unknown }>(ids[i]);
      if (echoes === false) expect([name, job?.status]).toEqual([name, 'failed']);
      else expect([name, job?.status, digest(job?.result?.echo)]).toEqual([name, 'completed', digest(expected ?? payload)]);
    }
    expectHealthy(await scene.analyze());
    await sentinelIntact();
  });

  it('option fuzz: invalid options are refused with InvalidJobOptionError, valid edge values are stored exactly', async () => {
    const refused: Array<[string, Record<string, unknown>]> = [
      ['priority NaN', { priority: NaN }],
      ['priority 1.5', { priority: 1.5 }],
      ['priority 2^31', { priority: 2 ** 31 }],
      ['priority -2^31-1', { priority: -(2 ** 31) - 1 }],
      ['priority Infinity', { priority: Infinity }],
      ['priority as a string', { priority: '5' }],
      ['priority null', { priority: null }],
      ['delayMs -1', { delayMs: -1 }],
      ['delayMs NaN', { delayMs: NaN }],
      ['delayMs Infinity', { delayMs: Infinity }],
      ['delayMs 1e300', { delayMs: 1e300 }],
      ['delayMs as a string', { delayMs: '10' }],
      ['runAt an invalid Date', { runAt: new Date(NaN) }],
      ['runAt a string', { runAt: '2030-01-01' }],
      ['runAt a number', { runAt: 0 }],
      ['runAt and delayMs', { runAt: new Date(), delayMs: 5 }],
      ['maxAttempts 0', { maxAttempts: 0 }],
      ['maxAttempts -1', { maxAttempts: -1 }],
      ['maxAttempts 1.5', { maxAttempts: 1.5 }],
      ['maxAttempts NaN', { maxAttempts: NaN }],
      ['maxAttempts 2^31', { maxAttempts: 2 ** 31 }],
      ['a 10 KB job key', { jobKey: 'k'.repeat(10 * 1024) }],
      ['a 10 KB queue name', { queue: 'q'.repeat(10 * 1024) }],
      ['an unknown option', { priorty: 5 }],
      ['a client that is not one', { client: {} }],
    ];
    for (const [name, options] of refused) {
      const { client, ...jobOptions } = options;
      await expectRejected(
        InvalidJobOptionError,
        () => queue.enqueue('fault.echo', {}, options as never),
        client === undefined
          ? () =>
              queue.enqueueMany([
                { type: 'fault.echo', payload: {} },
                { type: 'fault.echo', payload: {}, ...jobOptions },
              ])
          : undefined,
      ).catch((error: Error) => {
        throw new Error(`${name}: ${error.message}`);
      });
    }
    for (const options of [null, 'fast', 42])
      await expectRejected(InvalidJobOptionError, () => queue.enqueue('fault.echo', {}, options as never));
    await expectRejected(InvalidJobOptionError, () => queue.enqueueMany('not an array' as never));

    const accepted = [
      { priority: -1 },
      { priority: -(2 ** 31) },
      { priority: 2 ** 31 - 1 },
      { priority: -0 },
      { maxAttempts: 2 ** 31 - 1 },
      { delayMs: 0.5 },
      { delayMs: 2 ** 31 }, // beyond setTimeout's range: the database decides when it is due
      { runAt: new Date('9000-01-01T00:00:00.123Z') }, // far future, millisecond exact
    ];
    const jobs = [];
    for (const options of accepted) jobs.push(await queue.enqueue('fuzz.nobody', {}, options));
    expect(jobs.map((j) => j.priority)).toEqual([-1, -(2 ** 31), 2 ** 31 - 1, 0, 100, 100, 100, 100]);
    expect(jobs[4].maxAttempts).toBe(2 ** 31 - 1);
    expect(jobs[6].runAt.getTime() - jobs[6].createdAt.getTime()).toBe(2 ** 31);
    expect(jobs[7].runAt.toISOString()).toBe('9000-01-01T00:00:00.123Z');
    await sentinelIntact();
  });

  // Was a defect (a runAt before 4713 BC reached PostgreSQL and failed there with a raw DatabaseError); fixed in
  // the working tree by bounding runAt (lib/validation/job-input.ts validateRunAt).
  it('option fuzz: a runAt outside what timestamptz holds is refused with InvalidJobOptionError, not a DatabaseError', async () => {
    await expectRejected(InvalidJobOptionError, () => queue.enqueue('fault.echo', {}, { runAt: new Date(-8.64e15) }));
    await expectRejected(InvalidJobOptionError, () => queue.enqueue('fault.echo', {}, { runAt: new Date(8.64e15) }));
  });

  // Was a defect (a hole in a sparse array passed validation and came back as null); fixed in the working tree
  // (lib/validation/json-value.ts checks every index, so a hole is refused like undefined).
  it('payload fuzz: a sparse array is refused like undefined in an array', async () => {
    // eslint-disable-next-line no-sparse-arrays
    await expectRejected(InvalidPayloadError, () => queue.enqueue('fault.echo', { list: [1, , 3] }));
  });

  it('identifier fuzz: hostile schema names, job types, job ids and handler types are refused before any SQL runs', async () => {
    const namespaces = async () => Number((await scene.db.query<{ n: string }>('SELECT count(*) AS n FROM pg_namespace'))[0].n);
    const schemasBefore = await namespaces();
    const hostileNames = [
      'a"; DROP TABLE x; --',
      "o'brien",
      'a$$b',
      'é'.repeat(32),
      'Upper',
      '1starts_with_digit',
      'x'.repeat(49),
      '',
      'pg_catalog"."jobs',
    ];
    for (const schema of hostileNames) {
      const booted = startQueueApp(scene.db, { worker: { enabled: false }, module: { schema } });
      await expect(booted).rejects.toBeInstanceOf(InvalidSchemaNameError);
    }
    expect(Buffer.byteLength('é'.repeat(32))).toBe(64);
    expect(await namespaces()).toBe(schemasBefore);

    // The longest valid name (48 characters) works: its derived NOTIFY channel names stay under 63 bytes.
    const longest = `f_${randomBytes(8).toString('hex')}`.padEnd(48, '_');
    apps.defer(() => scene.db.query(`DROP SCHEMA IF EXISTS "${longest}" CASCADE`)); // once the app below is closed
    const app = await apps.start(scene.db, { worker: { enabled: false }, module: { schema: longest } });
    expect((await app.queue.enqueue('fault.echo', { ok: true })).payload).toEqual({ ok: true });
    await app.close();

    for (const type of [
      'a"; DROP TABLE x; --',
      "o'brien",
      'a$$b',
      'é'.repeat(32),
      '',
      ' ',
      'a b',
      'x'.repeat(129),
      '.dot',
      'a\u0000b',
      42,
      null,
    ]) {
      await expectRejected(InvalidJobTypeError, () => queue.enqueue(type as string, {}));
    }
    const odd = await queue.enqueue(`a:b/c-d.e_f${'x'.repeat(117)}`, {});
    expect((await queue.getJob(odd.id))?.type).toBe(`a:b/c-d.e_f${'x'.repeat(117)}`);

    for (const id of ['1; DROP TABLE x', '1 OR 1=1', "1' --", '-1', '0', '01', '1.5', '9223372036854775808', '', ' 1']) {
      await expect(queue.getJob(id)).rejects.toBeInstanceOf(InvalidJobIdError);
      await expect(queue.cancel(id)).rejects.toBeInstanceOf(InvalidJobIdError);
      expect(() => queue.watch(id)).toThrow(InvalidJobIdError);
    }
    for (const id of [1, null, undefined, {}]) await expect(queue.getJob(id as never)).rejects.toBeInstanceOf(InvalidJobIdError);

    // A handler declared for a hostile type (or with hostile options) fails the bootstrap with a config error.
    for (const [type, options] of [
      ["o'brien", {}],
      ['a"; DROP TABLE x; --', {}],
      ['ok.type', { concurrency: 0 }],
      ['ok.type', { timeoutMs: NaN }],
      ['ok.type', { maxAttempts: 0 }],
      ['ok.type', { backoff: { baseMs: -1 } }],
    ] as const) {
      @Injectable()
      class HostileHandlers {
        @JobHandler(type, options)
        async handle() {}
      }
      const booted = startQueueApp(scene.db, { providers: [HostileHandlers], worker: { concurrency: 2 } });
      await expect(booted).rejects.toBeInstanceOf(PgQueueConfigError);
    }
    await sentinelIntact();
    expect(await scene.db.query(`SELECT to_regclass('"${scene.schema}".jobs') IS NOT NULL AS ok`)).toEqual([{ ok: true }]);
  });

  // Was a defect (fix: /tmp/fault-fixes/hostile-thrown-value.patch, applied in the working tree): JobRunner.fail
  // evaluated `error instanceof UnrecoverableJobError`, which runs a Proxy's getPrototypeOf trap; when that threw,
  // the failure was never written and the job stayed `running` until its lease expired, then was recovered with a
  // misleading "Lease expired" error (and with attempts left, run again).
  it('a thrown Proxy whose traps throw is recorded at once as "Unprintable error"', async () => {
    const worker = scene.fleet.workers.find((w) => w.alive) ?? (await scene.fleet.start({ CONCURRENCY: 4 }));
    await worker.ready;
    const { id } = await queue.enqueue('fault.throw', { kind: 'proxy' });
    await scene.settled([id], 15_000);
    const [end] = await scene.ledger("event = 'end' AND job_id = $1", [id]);
    const [job] = await scene.jobs([id]);
    expect(job.last_error).toBe('Unprintable error');
    expect(job.finished_at!.getTime() - end.at.getTime()).toBeLessThan(1000);
  });

  it('hostile values thrown or returned by handlers are stored safely and the worker keeps going', async () => {
    const worker = await scene.fleet.start({ CONCURRENCY: 4 });
    const kinds = [
      'string',
      'undefined',
      'null',
      'number',
      'symbol',
      'bigint',
      'circular-cause',
      'circular-object',
      'huge-stack',
      'huge-message',
      'nul',
      'lone-surrogate',
      'hostile-getters',
      'deep-causes',
    ];
    const thrown = new Map<string, string>();
    for (const kind of kinds) thrown.set(kind, (await queue.enqueue('fault.throw', { kind })).id);
    const results = new Map<string, string>();
    for (const kind of ['undefined', 'circular', 'bigint', 'nul', 'date'])
      results.set(kind, (await queue.enqueue('fault.result', { kind })).id);
    await scene.settled([...thrown.values(), ...results.values()], 30_000);
    const after = await queue.enqueue('fault.work', {}); // the worker still takes work
    await scene.settled([after.id]);
    expect(worker.alive).toBe(true);

    for (const [kind, id] of thrown) {
      const job = await queue.getJob(id);
      expect([kind, job?.status, job?.attempts]).toEqual([kind, 'failed', 1]);
      const error = job!.lastError!;
      expect([kind, typeof error, error.length > 0, error.length <= 8000 + 20, error.includes('\u0000')]).toEqual([
        kind,
        'string',
        true,
        true,
        false,
      ]);
      // Recorded by the worker from the thrown value, not by a recovery after the outcome write gave up.
      expect([kind, error.startsWith('Lease expired')]).toEqual([kind, false]);
    }
    const errorOf = async (kind: string) => (await queue.getJob(thrown.get(kind)!))!.lastError!;
    expect(await errorOf('string')).toMatch(/^a plain string run=/);
    expect(await errorOf('undefined')).toBe('undefined was thrown');
    expect(await errorOf('bigint')).toContain('1000000000000000000000000000000n');
    expect(await errorOf('circular-cause')).toContain('Caused by');
    expect(await errorOf('huge-stack')).toContain('huge stack run=');
    expect(await errorOf('nul')).toContain('NUL\\0in the message');
    expect(await errorOf('lone-surrogate')).toContain('lone');
    expect(await errorOf('deep-causes')).toContain('level 999');

    expect(await queue.getJob(results.get('undefined')!)).toMatchObject({ status: 'completed', result: null });
    for (const kind of ['circular', 'bigint', 'nul', 'date']) {
      const job = await queue.getJob(results.get(kind)!);
      expect([kind, job?.status, job?.lastError?.includes('Handler result cannot be stored as JSON')]).toEqual([kind, 'failed', true]);
    }
    // Jobs of types no process handles (from the option and identifier fuzz) stay pending by design.
    const report = await scene.analyze({ ignore: (job) => !job.type.startsWith('fault.') });
    expectHealthy(report);
    expect(report.duplicates).toEqual([]);
  });
});
