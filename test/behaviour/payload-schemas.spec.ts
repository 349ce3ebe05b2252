import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { IsEmail, IsInt, Min, validate } from 'class-validator';
import * as v from 'valibot';
import { z } from 'zod';
import { InvalidPayloadError, JobHandler, PgQueueConfigError, type StandardSchemaV1 } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, Recorder, useQueueApps, type QueueApp } from '../support/queue-app';

const Invoice = z.object({
  invoiceId: z.string().min(1),
  lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  pages: z.number().int().default(1),
});

class SignupDto {
  @IsEmail()
  email!: string;

  @IsInt()
  @Min(18)
  age!: number;
}

/** A class-validator DTO as a Standard Schema: what the README shows for Nest apps that have DTOs already. */
function dtoSchema<T extends object>(dto: new () => T): StandardSchemaV1<unknown, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'class-validator',
      validate: async (value) => {
        const instance = plainToInstance(dto, value);
        const errors = await validate(instance);
        if (errors.length === 0) return { value: instance };
        return {
          issues: errors.flatMap((error) => Object.values(error.constraints ?? {}).map((message) => ({ message, path: [error.property] }))),
        };
      },
    },
  };
}

const seen = new Recorder<unknown>();

@Injectable()
class CheckedHandlers {
  @JobHandler('sc.invoice', { schema: Invoice, maxAttempts: 5 })
  invoice(payload: z.infer<typeof Invoice>) {
    seen.push(payload);
    return payload.pages;
  }

  @JobHandler('sc.mail', { schema: v.object({ to: v.pipe(v.string(), v.email()) }) })
  mail(payload: { to: string }) {
    seen.push(payload);
  }

  @JobHandler('sc.signup', { schema: dtoSchema(SignupDto) })
  signup(payload: SignupDto) {
    seen.push(payload instanceof SignupDto);
  }
}

describe('payload schemas (handler option schema)', () => {
  const apps = useQueueApps();
  let db: TestDatabase;
  let app: QueueApp;
  const jobCount = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(db.schema)}.jobs`))[0].n);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    app = await apps.start(db, { providers: [CheckedHandlers], worker: FAST_WORKER });
  });

  it('refuses a payload its schema refuses at enqueue, naming each bad field, and writes nothing', async () => {
    const before = await jobCount();
    const refused = app.queue.enqueue('sc.invoice', {
      invoiceId: '',
      lines: [
        { sku: 'A', quantity: 1 },
        { sku: 7, quantity: -2 },
      ],
    });
    await expect(refused).rejects.toThrow(InvalidPayloadError);
    const error = (await refused.catch((e: unknown) => e)) as InvalidPayloadError;
    expect(error.issues.map((issue) => issue.path)).toEqual(['invoiceId', 'lines[1].sku', 'lines[1].quantity']);
    expect(error.message).toContain('The payload of sc.invoice does not match its handler');
    expect(error.message).toContain('lines[1].quantity:');

    await expect(app.queue.enqueue('sc.mail', { to: 'not an address' })).rejects.toThrow(/to: /);
    const young = (await app.queue
      .enqueue('sc.signup', { email: 'a@example.com', age: 12 })
      .catch((e: unknown) => e)) as InvalidPayloadError;
    expect(young.issues).toHaveLength(1);
    expect(young.issues[0].path).toBe('age');
    expect(young.issues[0].message).toContain('18');
    const batch = app.queue.enqueueMany([
      { type: 'sc.mail', payload: { to: 'ok@example.com' } },
      { type: 'sc.mail', payload: { to: 'nope' } },
    ]);
    await expect(batch).rejects.toThrow(/^Job 1 of the batch is invalid: The payload of sc.mail/);
    await expect(app.queue.schedule('sc.nightly', '0 3 * * *', 'sc.mail', { to: 'nope' })).rejects.toThrow(InvalidPayloadError);
    expect(await jobCount()).toBe(before);
  });

  it("runs the handler with the schema's output, with zod, valibot and a class-validator DTO", async () => {
    seen.events.length = 0;
    const invoice = await app.queue.enqueue('sc.invoice', { invoiceId: 'inv-1', lines: [] });
    await app.queue.enqueue('sc.mail', { to: 'ok@example.com' });
    await app.queue.enqueue('sc.signup', { email: 'a@example.com', age: 30 });
    await waitFor(() => seen.events.length === 3);
    expect(seen.events).toEqual(expect.arrayContaining([{ invoiceId: 'inv-1', lines: [], pages: 1 }, { to: 'ok@example.com' }, true]));
    // Stored as enqueued; the default is the handler's view of it.
    expect((await app.queue.getJob(invoice.id))?.payload).toEqual({ invoiceId: 'inv-1', lines: [] });
  });

  it('fails a job whose payload fails the schema before it runs, at once, without retries and without calling the handler', async () => {
    seen.events.length = 0;
    // From a process that does not know the schema: a producer-only app has no handlers, so it cannot check.
    const producer = await apps.start(db, { worker: { enabled: false } });
    const bad = await producer.queue.enqueue('sc.invoice', { invoiceId: 'inv-2', lines: 'none' });
    await waitFor(async () => (await app.queue.getJob(bad.id))?.status === 'failed');
    const failed = await app.queue.getJob(bad.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, maxAttempts: 5 });
    expect(failed?.lastError).toContain('UnrecoverableJobError');
    expect(failed?.lastError).toContain('lines:');
    expect(seen.events).toEqual([]);
  });

  it('refuses a schema option that is not a Standard Schema, at bootstrap', async () => {
    @Injectable()
    class NotASchema {
      @JobHandler('sc.bad', { schema: { parse: () => true } as never })
      handle() {}
    }
    await expect(apps.start(db, { providers: [NotASchema] })).rejects.toThrow(PgQueueConfigError);
    await expect(apps.start(db, { providers: [NotASchema] })).rejects.toThrow(/schema.*Standard Schema/);
  });
});
