import {
  InvalidJobIdError,
  InvalidJobOptionError,
  InvalidJobTypeError,
  InvalidPayloadError,
  InvalidSchemaNameError,
  PgQueueError,
} from '../lib';
import { createTestDatabase, type TestDatabase } from './support/database';
import { startQueueApp, type QueueApp } from './support/queue-app';

class Money {
  constructor(readonly cents: number) {}
}
const circular: Record<string, unknown> = {};
circular.self = circular;
let deep: unknown = 'bottom';
for (let i = 0; i < 500; i++) deep = [deep];

describe('bad input is rejected with a typed error before anything is written', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { module: { maxPayloadBytes: 1024 }, worker: { enabled: false } });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });
  afterEach(async () => {
    expect(await db.query(`SELECT id FROM ${db.schema}.jobs`)).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['a BigInt', { n: 1n }],
    ['a circular object', circular],
    ['a function', { f: () => 1 }],
    ['a symbol', { s: Symbol('x') }],
    ['top-level undefined', undefined],
    ['undefined in an array', [1, undefined]],
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['a NUL character in a value', { s: 'a\u0000b' }],
    ['a NUL character in a key', { 'a\u0000b': 1 }],
    ['a lone surrogate', { s: '\ud800' }],
    ['a Date', { at: new Date() }],
    ['a Map', new Map()],
    ['a class instance', { price: new Money(5) }],
    ['nesting deeper than 200 levels', deep],
    ['a payload over maxPayloadBytes', { s: 'x'.repeat(2000) }],
  ])('payload with %s', async (_, payload) => {
    await expect(app.queue.enqueue('report', payload)).rejects.toBeInstanceOf(InvalidPayloadError);
  });

  it('names the offending path', async () => {
    await expect(app.queue.enqueue('report', { rows: [{ total: 1n }] })).rejects.toThrow('$.rows[0].total');
  });

  it('accepts plain JSON and documents the round trip of undefined properties and -0', async () => {
    const job = await app.queue.enqueue('round.trip', { a: undefined, b: -0, c: [null, true, 'é😀'], d: { e: 2 ** 53 + 1 } });
    expect(job.payload).toEqual({ b: 0, c: [null, true, 'é😀'], d: { e: 2 ** 53 + 1 } });
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['a space', 'report generate'],
    ['a quote and SQL', `a"; DROP TABLE x; --`],
    ['too long', 'x'.repeat(129)],
    ['not a string', 42],
    ['a NUL', 'a\u0000'],
  ])('job type %s', async (_, type) => {
    await expect(app.queue.enqueue(type as string, {})).rejects.toBeInstanceOf(InvalidJobTypeError);
  });

  it.each<[string, Record<string, unknown>]>([
    ['priority 1.5', { priority: 1.5 }],
    ['priority NaN', { priority: Number.NaN }],
    ['priority 2^31', { priority: 2 ** 31 }],
    ['priority Infinity', { priority: Number.POSITIVE_INFINITY }],
    ['priority as a string', { priority: '5' }],
    ['an invalid runAt', { runAt: new Date('nope') }],
    ['runAt not a Date', { runAt: '2030-01-01' }],
    ['runAt with delayMs', { runAt: new Date(), delayMs: 5 }],
    ['a negative delayMs', { delayMs: -1 }],
    ['a NaN delayMs', { delayMs: Number.NaN }],
    ['maxAttempts 0', { maxAttempts: 0 }],
    ['maxAttempts 1.5', { maxAttempts: 1.5 }],
    ['an unknown option', { delay: 100 }],
    ['a client without query()', { client: {} }],
  ])('option with %s', async (_, options) => {
    await expect(app.queue.enqueue('report', {}, options)).rejects.toBeInstanceOf(InvalidJobOptionError);
  });

  it('rejects a whole enqueueMany batch when one job is invalid, naming its index', async () => {
    const attempt = app.queue.enqueueMany([
      { type: 'report', payload: { ok: 1 } },
      { type: 'report', payload: { ok: 2 }, priority: 0.5 },
    ]);
    await expect(attempt).rejects.toBeInstanceOf(InvalidJobOptionError);
    await expect(attempt).rejects.toThrow('Job 1 of the batch is invalid');
  });

  it('rejects an enqueueMany batch over the 128 MiB of one jobs document, before sending it', async () => {
    const payload = 'x'.repeat(1000); // within this app's maxPayloadBytes of 1024
    const attempt = app.queue.enqueueMany(Array.from({ length: 135_000 }, () => ({ type: 'report', payload })));
    await expect(attempt).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(attempt).rejects.toThrow(/over the limit of 134217728 bytes for the jobs of one statement; split it/);
  });

  it.each([['abc'], ['-1'], ['0'], ['1.5'], ['99999999999999999999'], [42 as unknown as string]])('job id %p', async (id) => {
    await expect(app.queue.getJob(id)).rejects.toBeInstanceOf(InvalidJobIdError);
    await expect(app.queue.cancel(id)).rejects.toBeInstanceOf(InvalidJobIdError);
    expect(() => app.queue.watch(id)).toThrow(InvalidJobIdError);
  });

  it.each([['Upper'], ['1abc'], ['a-b'], ['x'.repeat(49)], [`a"; DROP TABLE x; --`], ["o'brien"], ['a$$b'], ['']])(
    'schema name %p fails the bootstrap',
    async (schema) => {
      const attempt = startQueueApp(db, { module: { schema } });
      await expect(attempt).rejects.toBeInstanceOf(InvalidSchemaNameError);
      await expect(attempt).rejects.toBeInstanceOf(PgQueueError);
    },
  );
});
