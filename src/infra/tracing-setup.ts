// Loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set (src/main.ts), and left out of the server
// bundle (scripts/server-bundle.mjs LAZY_SOURCES), so a start without tracing never loads the SDK.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/**
 * Registers the global tracer provider: spans are batched and sent over OTLP/HTTP (JSON) to
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces; the standard OTEL_EXPORTER_OTLP_* variables apply).
 * Returns the flush-and-stop for shutdown.
 */
export function startTracing(): () => Promise<void> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: process.env.OTEL_SERVICE_NAME || 'evident', [ATTR_SERVICE_VERSION]: '0.1.0' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return () => provider.shutdown();
}
