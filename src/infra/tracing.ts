import { context, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';

/** The API only: without a registered provider (OTEL_EXPORTER_OTLP_ENDPOINT unset) every span is a no-op. */
export const tracer = trace.getTracer('evident');

/** Runs `work` in an active span that ends with it; an error marks the span and is rethrown. */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, links?: Link[]): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, ...(links && links.length > 0 ? { links } : {}) }, async (span) => {
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

const TRACE_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The W3C traceparent of the active sampled span, for an event's metadata: a projection or reactor
 * that handles the event later, on any instance, continues or links to the operation's trace.
 * Undefined when tracing is off, so events then carry nothing extra.
 */
export function currentTraceParent(): string | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!(traceFlags & TraceFlags.SAMPLED)) return undefined;
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

export function isTraceParent(value: unknown): value is string {
  return typeof value === 'string' && TRACE_PARENT.test(value) && !/^0+$/.test(value.slice(3, 35));
}

function remoteSpanContext(traceParent: unknown) {
  if (!isTraceParent(traceParent)) return undefined;
  const [, traceId, spanId, flags] = TRACE_PARENT.exec(traceParent)!;
  return { traceId: traceId!, spanId: spanId!, traceFlags: Number.parseInt(flags!, 16), isRemote: true };
}

/** A context whose parent is the span an event's traceparent names (ROOT_CONTEXT when it has none). */
export function contextFromTraceParent(traceParent: unknown): Context {
  const remote = remoteSpanContext(traceParent);
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
}

/** Span links to the traces of the events a batch handles (distinct, at most `max`). */
export function linksFromTraceParents(traceParents: Iterable<unknown>, max = 32): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const traceParent of traceParents) {
    const remote = remoteSpanContext(traceParent);
    if (!remote || seen.has(remote.spanId)) continue;
    seen.add(remote.spanId);
    links.push({ context: remote });
    if (links.length >= max) break;
  }
  return links;
}

/** Runs `work` with `parent` as the active context (a reactor continuing the trace of the event it handles). */
export function withContext<T>(parent: Context, work: () => T): T {
  return context.with(parent, work);
}
