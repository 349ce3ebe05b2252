/**
 * Compile-only: `npm run lint` type-checks this file, and every `@ts-expect-error` below fails the build when the types
 * stop catching that mistake. Nothing here runs.
 */
import { applyDecorators, Injectable } from '@nestjs/common';
import { JobHandler, type JobContext, type JobSnapshot, type QueueService } from '../../lib';

declare module '../../lib' {
  interface PgQueueJobs {
    'typed.invoice.render': { invoiceId: string; pages?: number };
    'typed.mail.send': { to: string };
  }
  interface PgQueueJobResults {
    'typed.invoice.render': { url: string };
  }
}

@Injectable()
export class TypedHandlers {
  @JobHandler('typed.invoice.render')
  render(payload: { invoiceId: string }, ctx: JobContext): { url: string } {
    return { url: `/invoices/${payload.invoiceId}.pdf#${ctx.job.id}` };
  }

  @JobHandler('typed.invoice.render')
  async renderLater(payload: { invoiceId: string }): Promise<{ url: string }> {
    return { url: payload.invoiceId };
  }

  // @ts-expect-error the payload of typed.invoice.render has a string invoiceId
  @JobHandler('typed.invoice.render')
  wrongPayload(payload: { invoiceId: number }) {
    return { url: String(payload.invoiceId) };
  }

  // @ts-expect-error typed.invoice.render must return its result type
  @JobHandler('typed.invoice.render')
  wrongResult() {
    return { link: 'nope' };
  }

  @JobHandler('typed.mail.send')
  mail(payload: unknown) {
    return payload;
  }

  /** A type that is not in the map takes any payload and returns anything. */
  @JobHandler('untyped.anything')
  anything(payload: { whatever: boolean }) {
    return payload.whatever;
  }
}

export async function enqueues(queue: QueueService, someType: string): Promise<unknown[]> {
  const invoice = await queue.enqueue('typed.invoice.render', { invoiceId: 'inv-1' });
  const invoiceId: string = invoice.payload.invoiceId;
  const url: string | undefined = invoice.result?.url;

  // @ts-expect-error invoiceId is a string
  await queue.enqueue('typed.invoice.render', { invoiceId: 42 });
  // @ts-expect-error invoiceId is required
  await queue.enqueue('typed.invoice.render', {});
  // @ts-expect-error no such field in the payload of typed.mail.send
  await queue.enqueue('typed.mail.send', { to: 'a@example.com', cc: 'b@example.com' });

  // Types not in the map stay allowed, typed by what is given.
  const other = await queue.enqueue('untyped.report', { rows: 3 });
  const rows: number = other.payload.rows;
  const dynamic = await queue.enqueue(someType, { any: 'thing' });

  const batch = await queue.enqueueMany([
    { type: 'typed.invoice.render', payload: { invoiceId: 'a' } },
    { type: 'typed.mail.send', payload: { to: 'x@example.com' }, priority: 5 },
    { type: 'untyped.other', payload: [1, 2, 3] },
  ]);
  const first: JobSnapshot = batch[0];
  await queue.enqueueMany([
    // @ts-expect-error in a batch of several types, each job is checked against its own type
    { type: 'typed.invoice.render', payload: { to: 'x@example.com' } },
    { type: 'typed.mail.send', payload: { to: 'x@example.com' } },
  ]);
  const fromElsewhere: Array<{ type: string; payload: unknown }> = [];
  await queue.enqueueMany(fromElsewhere);

  await queue.schedule('nightly', '0 3 * * *', 'typed.mail.send', { to: 'ops@example.com' });
  // @ts-expect-error schedules are checked too
  await queue.schedule('nightly', '0 3 * * *', 'typed.mail.send', { to: 1 });

  return [invoiceId, url, rows, dynamic, first];
}

/** A job type outside the map gives a plain MethodDecorator, which Nest's applyDecorators takes. */
export const ReportHandler = (): MethodDecorator => applyDecorators(JobHandler('untyped.report'));
