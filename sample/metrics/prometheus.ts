import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The OpenTelemetry metrics SDK with a Prometheus exporter, registered before the Nest app is created (the queue
 * creates its instruments when the app is). The exporter serves no port of its own: MetricsController answers
 * GET /metrics on the app's.
 */
export const prometheus = new PrometheusExporter({ preventServerStart: true });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
