import { Injectable } from '@nestjs/common';
import {
  InvalidJobIdError,
  InvalidJobOptionError,
  InvalidJobTypeError,
  InvalidPayloadError,
  InvalidSchemaNameError,
  JobHandler,
  PgQueueError,
  type JobSnapshot,
} from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { countJobs } from '../support/jobs';
import { Recorder, startQueueApp, type QueueApp } from '../support/queue-app';

class Money {
  constructor(readonly cents: number) {}
}
/** A value class that declares its own JSON form. */
class Cents {
  constructor(private readonly value: number) {}
  toJSON() {
    return `${this.value / 100}`;
  }
}

/** What Nest's ValidationPipe({ transform: true }) hands a controller: class instances, nested. */
class CustomerDto {
  name = 'Ada';
  vatId: string | null = null;
}
class LineDto {
  sku = 'SKU-1';
  quantity = 2;
  unitCents = 450;
  get totalCents() {
    return this.quantity * this.unitCents;
  }
  describe() {
    return `${this.quantity} x ${this.sku}`;
  }
}
class CreateInvoiceDto {
  invoiceId = 'inv-1';
  customer = new CustomerDto();
  lines = [new LineDto()];
  note?: string = undefined;
  get lineCount() {
    return this.lines.length;
  }
}
/** Its JSON data: own enumerable fields, nested instances as plain objects; no getters, methods or undefined fields. */
const INVOICE_JSON = {
  invoiceId: 'inv-1',
  customer: { name: 'Ada', vatId: null },
  lines: [{ sku: 'SKU-1', quantity: 2, unitCents: 450 }],
};
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
    ['a Set', { tags: new Set(['a']) }],
    ['a Buffer', Buffer.from('hi')],
    ['a boxed string', new String('x')],
    ['an object with a toJSON function', { toJSON: () => 'x' }],
    ['a class instance with a toJSON method', { price: new Cents(5) }],
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

  const jobCount = () => countJobs(db);
  const stored = async (id: string) => (await app.queue.getJob(id))!.payload;

  it('accepts a plain object whose toJSON key is not a function, and reads it back equal', async () => {
    const webhook = { toJSON: 'x', a: 1, nested: { toJSON: null } };
    const job = await app.queue.enqueue('webhook.relay', webhook);
    expect(job.payload).toEqual(webhook);
    expect(await stored(job.id)).toEqual(webhook);
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  it('reads a payload back equal, not in the same key order: jsonb sorts keys', async () => {
    const job = await app.queue.enqueue('round.trip', { bb: 1, a: 2, c: 3 });
    const payload = (await stored(job.id)) as Record<string, number>;
    expect(payload).toEqual({ bb: 1, a: 2, c: 3 });
    expect(Object.keys(payload)).toEqual(['a', 'c', 'bb']);
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  it('stores a DTO instance as its JSON data: own fields and nested instances, no getters or methods', async () => {
    const dto = new CreateInvoiceDto();
    const job = await app.queue.enqueue('invoice.create', dto);
    const payload = await stored(job.id);
    expect(payload).toEqual(INVOICE_JSON);
    expect(payload).toEqual(JSON.parse(JSON.stringify(dto)));
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    expect((await app.queue.getJob(job.id))!.payload).not.toHaveProperty('lineCount');
    const money = await app.queue.enqueue('invoice.price', { price: new Money(5) });
    expect(await stored(money.id)).toEqual({ price: { cents: 5 } });
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  it('leaves out symbol-keyed and non-enumerable properties, as JSON.stringify does', async () => {
    const payload = Object.defineProperty({ a: 1, [Symbol('meta')]: 'x' }, 'hidden', { value: 2, enumerable: false });
    const job = await app.queue.enqueue('round.trip', payload);
    expect(await stored(job.id)).toEqual({ a: 1 });
    await db.query(`DELETE FROM ${db.schema}.jobs`);
  });

  const cycle = new CreateInvoiceDto();
  it.each<[string, unknown, string, string]>([
    ['a Date', new Date(), '$.lines[0].extra', 'a Date would be read back as a string, not a Date: pass date.toISOString()'],
    ['a Map', new Map([['a', 1]]), '$.lines[0].extra', 'this Map would be stored as {}, losing its entries'],
    ['a Set', new Set([1]), '$.lines[0].extra', 'this Set would be stored as {}, losing its entries'],
    ['a Buffer', Buffer.from('hi'), '$.lines[0].extra', 'this Buffer is binary data'],
    ['a typed array', new Uint8Array([1]), '$.lines[0].extra', 'this Uint8Array is binary data'],
    ['a boxed number', new Number(1), '$.lines[0].extra', 'this boxed Number is not JSON'],
    ['a Promise', Promise.resolve(1), '$.lines[0].extra', 'a Promise is not data'],
    ['a RegExp', /x/, '$.lines[0].extra', 'this RegExp keeps its data where JSON does not look'],
    ['an Error', new Error('x'), '$.lines[0].extra', 'this Error keeps its data where JSON does not look'],
    ['an object with a toJSON function', { toJSON: () => 'x' }, '$.lines[0].extra', 'this object has a toJSON method'],
    ['a class instance with a toJSON method', new Cents(5), '$.lines[0].extra', 'this Cents has a toJSON method'],
    ['a function', () => 1, '$.lines[0].extra', 'a function is not JSON'],
    ['a symbol', Symbol('s'), '$.lines[0].extra', 'a symbol is not JSON'],
    ['a BigInt', 1n, '$.lines[0].extra', 'a bigint is not JSON'],
    ['NaN', Number.NaN, '$.lines[0].extra', 'NaN is not representable in JSON'],
    ['Infinity', Number.POSITIVE_INFINITY, '$.lines[0].extra', 'Infinity is not representable in JSON'],
    ['a NUL character', 'a\u0000b', '$.lines[0].extra', 'NUL characters'],
    ['a lone surrogate', '\ud800', '$.lines[0].extra', 'lone UTF-16 surrogate'],
    ['undefined in an array', [1, undefined], '$.lines[0].extra[1]', 'undefined is not JSON'],
    ['a cycle back to the DTO', cycle, '$.lines[0].extra', 'circular reference'],
  ])('refuses %s inside a DTO, naming its path, and writes nothing', async (_, value, path, why) => {
    const dto = value === cycle ? cycle : new CreateInvoiceDto();
    Object.assign(dto.lines[0], { extra: value });
    const attempt = app.queue.enqueue('invoice.create', dto);
    await expect(attempt).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(attempt).rejects.toThrow(`Invalid job payload at ${path}: ${why}`);
    expect(await jobCount()).toBe(0);
  });

  it('refuses a DTO whose getter throws as InvalidPayloadError at its path, and writes nothing', async () => {
    const dto = new CreateInvoiceDto();
    Object.defineProperty(dto.customer, 'vatId', {
      enumerable: true,
      get: () => {
        throw new Error('not loaded');
      },
    });
    const attempt = app.queue.enqueue('invoice.create', dto);
    await expect(attempt).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(attempt).rejects.toThrow('Invalid job payload at $.customer.vatId: reading it threw Error: not loaded');
    expect(await jobCount()).toBe(0);
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

  it('names the option a misspelt one resembles, for enqueue and schedule alike', async () => {
    await expect(app.queue.enqueue('report', {}, { priorty: 5 } as never)).rejects.toThrow(
      'Unknown option priorty: did you mean priority?',
    );
    await expect(app.queue.schedule('typo', '0 * * * *', 'report', {}, { timezon: 'UTC' } as never)).rejects.toThrow(
      'Unknown option timezon: did you mean timezone?',
    );
    expect(await app.queue.listSchedules()).toEqual([]);
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

const received = new Recorder<unknown>();
/** What a handler might return: a class instance, with a getter that JSON leaves out. */
class Receipt {
  constructor(
    readonly invoiceId: string,
    readonly lines: LineDto[],
  ) {}
  get paid() {
    return false;
  }
}

@Injectable()
class InvoiceHandlers {
  @JobHandler('invoice.create', { maxAttempts: 1 })
  async create(payload: CreateInvoiceDto) {
    received.push(payload);
    return new Receipt(payload.invoiceId, [new LineDto()]);
  }

  @JobHandler('invoice.dated', { maxAttempts: 1 })
  async dated() {
    return { at: new Date() };
  }
}

describe('a handler gets the JSON data of what was enqueued, and its result is stored the same way', () => {
  let db: TestDatabase;
  let app: QueueApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startQueueApp(db, { providers: [InvoiceHandlers] });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const settled = async (id: string) => {
    let job: JobSnapshot | null = null;
    await waitFor(async () => ['completed', 'failed'].includes((job = await app.queue.getJob(id))?.status ?? ''));
    return job!;
  };

  it('runs a DTO payload: the handler gets its data as plain objects, and a class instance result is stored as its data', async () => {
    const { id } = await app.queue.enqueue('invoice.create', new CreateInvoiceDto());
    const job = await settled(id);
    expect(job).toMatchObject({ status: 'completed', lastError: null });
    expect(received.events).toEqual([INVOICE_JSON]);
    expect(Object.getPrototypeOf(received.events[0])).toBe(Object.prototype);
    expect(job.result).toEqual({ invoiceId: 'inv-1', lines: [{ sku: 'SKU-1', quantity: 2, unitCents: 450 }] });
  });

  it('fails a job whose result holds a Date for good, saying why', async () => {
    const { id } = await app.queue.enqueue('invoice.dated', {});
    const job = await settled(id);
    expect(job).toMatchObject({ status: 'failed', attempts: 1, result: null });
    expect(job.lastError).toContain('Handler result cannot be stored as JSON');
    expect(job.lastError).toContain('$.at: a Date would be read back as a string');
  });
});
