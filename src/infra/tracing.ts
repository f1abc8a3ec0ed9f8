import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/** The API only: without a registered provider (OTEL_EXPORTER_OTLP_ENDPOINT unset) every span is a no-op. */
export const tracer = trace.getTracer('evident');

/** Runs `work` in an active span that ends with it; an error marks the span and is rethrown. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name ?? 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** trace_id / span_id of the active span, for log lines (a pino mixin). */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return traceFlags ? { traceId, spanId } : {};
}
