import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { ClaimedJobRow } from '../db/job-row';
import type { TraceCarrier } from '../db/job-writes';
import type { RescuedJob } from '../db/stores/maintenance-store';
import type { AttemptEnd, EnqueuedJob } from './job-telemetry';
import { ATTR, INSTRUMENTATION_SCOPE, MESSAGING_SYSTEM } from './messaging-attributes';

type Api = typeof OpenTelemetryApi;

/**
 * The queue's spans, per OpenTelemetry's messaging conventions: a producer span per enqueue call, whose context is
 * stored with its jobs; a consumer span per attempt, a child of that context, so one trace follows the job across
 * processes, retries and snoozes; a short span for each rescue. Without an SDK every span is the API's no-op one.
 */
export class JobSpans {
  private readonly tracer: Tracer;
  private sdkRegistered = false;

  constructor(private readonly api: Api) {
    this.tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
  }

  /**
   * Whether an SDK's tracer provider is registered: until one is, every span would be a no-op, and the queue skips
   * building them. Asked per enqueue and per attempt, since an SDK may be registered after the module starts.
   */
  get active(): boolean {
    if (this.sdkRegistered) return true;
    const provider = this.api.trace.getTracerProvider();
    const proxy = provider instanceof this.api.ProxyTracerProvider;
    return (this.sdkRegistered = !proxy || provider.getDelegateTracer(INSTRUMENTATION_SCOPE) !== undefined);
  }

  /** Starts the producer span of an enqueue; its trace context (null when nothing propagates) goes with the jobs. */
  startEnqueue(types: readonly string[]): { span: Span; trace: TraceCarrier | null } {
    const { api } = this;
    const destination = types.every((type) => type === types[0]) ? types[0] : undefined;
    const attributes: Attributes = { [ATTR.system]: MESSAGING_SYSTEM, [ATTR.operationType]: 'send', [ATTR.operationName]: 'enqueue' };
    if (destination !== undefined) attributes[ATTR.destination] = destination;
    if (types.length > 1) attributes[ATTR.batchCount] = types.length;
    const span = this.tracer.startSpan(destination === undefined ? 'enqueue' : `enqueue ${destination}`, {
      kind: api.SpanKind.PRODUCER,
      attributes,
    });
    const carrier: TraceCarrier = {};
    api.propagation.inject(api.trace.setSpan(api.context.active(), span), carrier);
    // The trace context only: W3C baggage is application data (up to 8 KB) that no job row should carry.
    delete carrier.baggage;
    return { span, trace: Object.keys(carrier).length > 0 ? carrier : null };
  }

  endEnqueue(span: Span, jobs: EnqueuedJob[] | null, error?: unknown): void {
    if (jobs?.length === 1) span.setAttribute(ATTR.messageId, jobs[0].id);
    if (error !== undefined) this.recordError(span, error, describe(error));
    span.end();
  }

  /** The span of one attempt, a child of the enqueue's context (a new trace when the enqueue was not traced). */
  startAttempt(row: ClaimedJobRow): { span: Span; context: Context } {
    const { api } = this;
    const parent = this.parentOf(row.trace_context);
    const attributes = jobAttributes(row, 'process', 'process');
    attributes[ATTR.priority] = row.priority;
    if (row.queue !== null) attributes[ATTR.serialQueue] = row.queue;
    const span = this.tracer.startSpan(`process ${row.type}`, { kind: api.SpanKind.CONSUMER, attributes }, parent);
    return { span, context: api.trace.setSpan(parent, span) };
  }

  endAttempt(span: Span, end: AttemptEnd): void {
    span.setAttribute(ATTR.outcome, end.outcome);
    if (end.outcome === 'retrying' || end.outcome === 'failed') this.recordError(span, end.error, end.description);
    if (end.outcome === 'interrupted') span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: end.reason });
    if ('delayMs' in end && end.delayMs !== undefined) span.setAttribute(ATTR.delayMs, end.delayMs);
    span.end();
  }

  /** A rescue is its own short span in the job's trace: the attempt whose lease expired never ended its span. */
  rescued(row: RescuedJob, reason: string): void {
    const span = this.tracer.startSpan(
      `rescue ${row.type}`,
      {
        kind: this.api.SpanKind.INTERNAL,
        attributes: { ...jobAttributes(row, 'settle', 'rescue'), [ATTR.outcome]: row.status === 'failed' ? 'failed' : 'retrying' },
      },
      this.parentOf(row.trace_context),
    );
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: reason });
    span.end();
  }

  private parentOf(trace: TraceCarrier | null): Context {
    const { api } = this;
    return trace === null ? api.ROOT_CONTEXT : api.propagation.extract(api.ROOT_CONTEXT, trace);
  }

  /** Reading a thrown value may throw (a hostile Proxy): the span then says only what the queue stored. */
  private recordError(span: Span, error: unknown, description: string): void {
    const message = description.split('\n', 1)[0];
    try {
      if (error instanceof Error) {
        span.recordException(error);
        span.setAttribute(ATTR.errorType, error.name);
      } else span.recordException({ message });
    } catch {
      span.recordException({ message });
    }
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message });
  }
}

/** What every span about one job carries: the messaging attributes and its attempt. */
function jobAttributes(
  row: Pick<ClaimedJobRow, 'id' | 'type' | 'attempts' | 'max_attempts'>,
  operationType: string,
  operationName: string,
): Attributes {
  return {
    [ATTR.system]: MESSAGING_SYSTEM,
    [ATTR.operationType]: operationType,
    [ATTR.operationName]: operationName,
    [ATTR.destination]: row.type,
    [ATTR.messageId]: row.id,
    [ATTR.attempt]: row.attempts,
    [ATTR.maxAttempts]: row.max_attempts,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
