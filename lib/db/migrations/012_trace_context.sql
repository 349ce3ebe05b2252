-- The trace context of the enqueue that created a job (what OpenTelemetry's propagators write: traceparent and
-- tracestate with the W3C propagator), so each attempt's span continues the producer's trace. NULL when nothing traced
-- the enqueue; a retried or rescued job keeps it. Adding a nullable column without a default rewrites nothing.
ALTER TABLE jobs ADD COLUMN trace_context jsonb;
