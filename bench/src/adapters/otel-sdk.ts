/**
 * nestjs-pgqueue with a real OpenTelemetry SDK registered, as an application would register it in production: the
 * same adapter and scenarios as `nestjs-pgqueue` (where `@opentelemetry/api` is a no-op), so the difference between
 * the two columns is what the library's spans and metrics cost once something records them. The exporters count
 * and discard, so no network or serialisation cost is measured, only the SDK's own work.
 *
 * The SDK packages resolve from the repo root's node_modules (its devDependencies), like Nest in ./nestjs-pgqueue:
 * bench/ declares none of them, so the library and this file share one copy of `@opentelemetry/api`.
 */
import { context, diag, DiagLogLevel, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { QueueAdapter, SystemDefinition } from '../adapter';
import { nestjsPgqueue } from './nestjs-pgqueue';

/** Counts the spans it is given and discards them. */
class CountingSpanExporter implements SpanExporter {
  spans = 0;
  batches = 0;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.spans += spans.length;
    this.batches++;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}
}

/** Counts the data points it is given and discards them. */
class CountingMetricExporter implements PushMetricExporter {
  exports = 0;
  dataPoints = 0;

  export(resourceMetrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.exports++;
    for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) this.dataPoints += metric.dataPoints.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

interface RegisteredSdk {
  /** Flushes and shuts down both providers, then prints what was exported to stderr. Returns the exported span count. */
  shutdown(): Promise<number>;
}

/**
 * Registers the SDK globally. Must run before the first Nest app is created: the library creates its metric
 * instruments then, and a meter taken from the no-op provider stays a no-op.
 */
function registerSdk(): RegisteredSdk {
  // Spans the BatchSpanProcessor drops when its queue (2,048 by default) is full are only reported through diag.
  let dropped = 0;
  const warn = (message: string, ...args: unknown[]) => {
    const match = /^Dropped (\d+) spans/.exec(message);
    if (match) dropped += Number(match[1]);
    else console.error(`  [otel] ${message}`, ...args);
  };
  const ignore = () => {};
  diag.setLogger({ error: warn, warn, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const spanExporter = new CountingSpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  trace.setGlobalTracerProvider(tracerProvider);
  const metricExporter = new CountingMetricExporter();
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 10_000 })],
  });
  metrics.setGlobalMeterProvider(meterProvider);

  return {
    async shutdown() {
      await tracerProvider.shutdown(); // flushes the BatchSpanProcessor's queue first
      await meterProvider.shutdown(); // one last collection and export
      console.error(
        `  [otel] ${spanExporter.spans} spans exported in ${spanExporter.batches} batches, ${dropped} dropped (BatchSpanProcessor queue full); ` +
          `${metricExporter.exports} metric exports, ${metricExporter.dataPoints} data points`,
      );
      return spanExporter.spans;
    },
  };
}

export const nestjsPgqueueOtel: SystemDefinition = {
  config:
    `${nestjsPgqueue.config} With an OpenTelemetry SDK registered before the app is created: AsyncLocalStorageContextManager, ` +
    'W3CTraceContextPropagator, BasicTracerProvider with a BatchSpanProcessor (default settings), MeterProvider with a ' +
    'PeriodicExportingMetricReader every 10 s; both exporters count and discard.',
  create(databaseUrl: string): QueueAdapter {
    const sdk = registerSdk();
    const inner = nestjsPgqueue.create(databaseUrl);
    return {
      open: () => inner.open(),
      enqueueSingle: (payload) => inner.enqueueSingle(payload),
      enqueueBulk: (payloads) => inner.enqueueBulk(payloads),
      startWorker: (concurrency, onJob) => inner.startWorker(concurrency, onJob),
      unfinished: () => inner.unfinished(),
      async stop() {
        let spans = 0;
        try {
          await inner.stop();
        } finally {
          spans = await sdk.shutdown();
        }
        if (spans === 0) throw new Error('the OpenTelemetry SDK exported no span');
      },
    };
  },
};
