import { Injectable } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { JobHandler, type JobContext } from '../../lib';
import { createTestDatabase, quoteIdent, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, useQueueApps, type QueueApp } from '../support/queue-app';

const exporter = new InMemorySpanExporter();

/** A span processor with a bug: it throws on the spans of tr.explode jobs, at their start and at their end. */
class ThrowingProcessor implements SpanProcessor {
  onStart(span: Span) {
    if (span.name === 'process tr.explode') throw new Error('processor bug at start');
  }
  onEnd(span: ReadableSpan) {
    if (span.name.endsWith('tr.explode')) throw new Error('processor bug at end');
  }
  forceFlush = () => Promise.resolve();
  shutdown = () => Promise.resolve();
}
const flakyRuns = new Map<string, number>();

@Injectable()
class TracedHandlers {
  @JobHandler('tr.work')
  async work(payload: { n: number }) {
    // The handler's own spans nest under the attempt's span.
    return trace.getTracer('user-code').startActiveSpan('user.lookup', (span) => {
      span.end();
      return { doubled: payload.n * 2 };
    });
  }

  @JobHandler('tr.flaky', { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 1, jitter: false } })
  flaky(_: unknown, ctx: JobContext) {
    const runs = (flakyRuns.get(ctx.job.id) ?? 0) + 1;
    flakyRuns.set(ctx.job.id, runs);
    if (runs === 1) throw new TypeError('first attempt breaks');
    if (runs === 2) ctx.snooze(1);
    return 'ok';
  }

  @JobHandler('tr.explode')
  explode() {
    return 'ran anyway';
  }

  @JobHandler('tr.rescued')
  rescued() {
    return 'ran again';
  }
}

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((span) => span.name === name);
const forJob = (id: string, name: string) => named(name).filter((span) => span.attributes['messaging.message.id'] === id);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('traces through OpenTelemetry', () => {
  const apps = useQueueApps();
  let db: TestDatabase;
  let producer: QueueApp;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new ThrowingProcessor(), new SimpleSpanProcessor(exporter)] }),
    );
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(async () => {
    exporter.reset();
    // A producer-only app, as an HTTP service is, and a worker app: the trace has to cross from one to the other.
    producer = await apps.start(db, { worker: { enabled: false } });
    await apps.start(db, { providers: [TracedHandlers], worker: FAST_WORKER });
  });

  /** Enqueues inside a span of the test, as a controller would inside its HTTP request's span. */
  function inRequest<T>(work: () => Promise<T>): Promise<{ result: T; request: ReadableSpan }> {
    return trace.getTracer('test').startActiveSpan('HTTP POST /reports', async (span) => {
      const result = await work();
      span.end();
      return {
        result,
        request: spans().find((s) => s.name === 'HTTP POST /reports' && s.spanContext().spanId === span.spanContext().spanId)!,
      };
    });
  }

  it('continues the enqueue trace in the worker process, with the handler span active and messaging attributes', async () => {
    const { result: job, request } = await inRequest(() => producer.queue.enqueue('tr.work', { n: 21 }));
    await waitFor(() => forJob(job.id, 'process tr.work').length === 1);

    const [send] = named('enqueue tr.work');
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(send)).toBe(request.spanContext().spanId);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'pgqueue',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'tr.work',
      'messaging.message.id': job.id,
    });

    const [process] = forJob(job.id, 'process tr.work');
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(parentOf(process)).toBe(send.spanContext().spanId);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'pgqueue',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'tr.work',
      'messaging.message.id': job.id,
      'pgqueue.job.attempt': 1,
      'pgqueue.job.outcome': 'completed',
    });
    expect(process.status.code).toBe(SpanStatusCode.UNSET);

    const [user] = named('user.lookup');
    expect(parentOf(user)).toBe(process.spanContext().spanId);
    expect(user.spanContext().traceId).toBe(send.spanContext().traceId);
  });

  it('shows every attempt in the trace: a failure that is retried, a snooze, then the completion', async () => {
    const { result: job } = await inRequest(() => producer.queue.enqueue('tr.flaky', {}));
    await waitFor(async () => (await producer.queue.getJob(job.id))?.status === 'completed');
    await waitFor(() => forJob(job.id, 'process tr.flaky').length === 3);

    const [send] = named('enqueue tr.flaky');
    const attempts = forJob(job.id, 'process tr.flaky').sort(
      (a, b) => Number(a.attributes['pgqueue.job.attempt']) - Number(b.attributes['pgqueue.job.attempt']),
    );
    expect(attempts.map((span) => span.attributes['pgqueue.job.outcome'])).toEqual(['retrying', 'snoozed', 'completed']);
    for (const attempt of attempts) {
      expect(attempt.spanContext().traceId).toBe(send.spanContext().traceId);
      expect(parentOf(attempt)).toBe(send.spanContext().spanId);
    }
    const [failed] = attempts;
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TypeError: first attempt breaks' });
    expect(failed.attributes).toMatchObject({ 'error.type': 'TypeError', 'pgqueue.job.delay_ms': 1 });
    expect(failed.events.find((event) => event.name === 'exception')?.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'first attempt breaks',
    });
    expect(attempts[1].attributes['pgqueue.job.delay_ms']).toBe(1);
  });

  it('shows a rescue in the trace of the job whose worker stopped heartbeating', async () => {
    const { result: job } = await inRequest(() => producer.queue.enqueue('tr.rescued', {}, { runAt: new Date(Date.now() + 3_600_000) }));
    // As a crashed worker leaves it: running, its lease expired.
    await db.query(
      `UPDATE ${quoteIdent(db.schema)}.jobs SET status = 'running', attempts = 1, started_at = now(), run_at = now(),
              claim_token = gen_random_uuid(), locked_by = 'crashed', lease_expires_at = now() - interval '1 second'
        WHERE id = $1`,
      [job.id],
    );
    await waitFor(() => forJob(job.id, 'process tr.rescued').length === 1);
    const [send] = named('enqueue tr.rescued');
    const [rescue] = forJob(job.id, 'rescue tr.rescued');
    expect(rescue.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(parentOf(rescue)).toBe(send.spanContext().spanId);
    expect(rescue.attributes).toMatchObject({ 'pgqueue.job.outcome': 'retrying', 'pgqueue.job.attempt': 1 });
    expect(rescue.status.code).toBe(SpanStatusCode.ERROR);
    expect(forJob(job.id, 'process tr.rescued')[0].attributes['pgqueue.job.attempt']).toBe(2);
  });

  it('gives a batch one producer span, which every job of it continues', async () => {
    const { result: jobs } = await inRequest(() =>
      producer.queue.enqueueMany([
        { type: 'tr.work', payload: { n: 1 } },
        { type: 'tr.work', payload: { n: 2 } },
      ]),
    );
    await waitFor(() => jobs.every((job) => forJob(job.id, 'process tr.work').length === 1));
    const [send] = named('enqueue tr.work');
    expect(send.attributes['messaging.batch.message_count']).toBe(2);
    for (const job of jobs) expect(parentOf(forJob(job.id, 'process tr.work')[0])).toBe(send.spanContext().spanId);
  });

  it('runs the job as if nothing recorded it when the SDK throws, and the enqueue still resolves', async () => {
    const job = await producer.queue.enqueue('tr.explode', {});
    await waitFor(async () => (await producer.queue.getJob(job.id))?.status === 'completed');
    expect((await producer.queue.getJob(job.id))?.result).toBe('ran anyway');
    // No second run: the attempt's outcome was written once.
    expect((await producer.queue.getJob(job.id))?.attempts).toBe(1);
  });

  it('stores no trace context and makes no span with telemetry: false', async () => {
    const quiet = await apps.start(db, { worker: { enabled: false }, module: { telemetry: false } });
    const { result: job } = await inRequest(() => quiet.queue.enqueue('tr.untraced', {}));
    const rows = await db.query(`SELECT trace_context FROM ${quoteIdent(db.schema)}.jobs WHERE id = $1`, [job.id]);
    expect(rows[0].trace_context).toBeNull();
    expect(named('enqueue tr.untraced')).toEqual([]);
    const traced = await producer.queue.enqueue('tr.untraced', {});
    const stored = await db.query<{ trace_context: Record<string, string> }>(
      `SELECT trace_context FROM ${quoteIdent(db.schema)}.jobs WHERE id = $1`,
      [traced.id],
    );
    expect(Object.keys(stored[0].trace_context)).toEqual(['traceparent']);
    expect(stored[0].trace_context.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });
});
