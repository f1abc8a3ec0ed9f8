import { describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { validateAppend } from '../../src/infra/event-store/validate-append.ts';
import { contextFromTraceParent, currentTraceParent, isTraceParent, linksFromTraceParents } from '../../src/infra/tracing.ts';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context in event metadata', () => {
  it('accepts only well-formed W3C traceparents (version 00, non-zero trace id)', () => {
    expect(isTraceParent(TP)).toBe(true);
    for (const bad of ['', 'x', TP.toUpperCase(), `01${TP.slice(2)}`, '00-00000000000000000000000000000000-00f067aa0ba902b7-01', `${TP}-extra`, 42, null]) {
      expect(isTraceParent(bad)).toBe(false);
    }
  });

  it('keeps a valid traceparent in the stored metadata, drops anything else, and adds nothing without one', () => {
    const metadata = { actorId: null, correlationId: 'c', causationId: null, requestId: null, occurredAt: new Date(0).toISOString() };
    const stored = (traceParent?: unknown) => JSON.parse(validateAppend('s', [{
      id: '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b', type: 'T', schemaVersion: 1, data: {}, metadata: { ...metadata, ...(traceParent === undefined ? {} : { traceParent }) } as never,
    }], 'any')[0]!.metadata) as Record<string, unknown>;
    expect(stored(TP).traceParent).toBe(TP);
    expect(stored('00-not-a-trace').traceParent).toBeUndefined();
    expect(Object.keys(stored())).toEqual(['actorId', 'correlationId', 'causationId', 'requestId', 'occurredAt']);
  });

  it('turns traceparents into a parent context and into distinct span links', () => {
    expect(trace.getSpanContext(contextFromTraceParent(TP))).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', isRemote: true });
    expect(trace.getSpanContext(contextFromTraceParent('junk'))).toBeUndefined();
    const other = '00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b8-01';
    expect(linksFromTraceParents([TP, TP, undefined, 'junk', other]).map((link) => link.context.spanId)).toEqual(['00f067aa0ba902b7', '00f067aa0ba902b8']);
    expect(linksFromTraceParents(Array.from({ length: 100 }, (_, i) => `00-4bf92f3577b34da6a3ce929d0e0e4736-${i.toString(16).padStart(16, '0')}-01`), 5)).toHaveLength(5);
  });

  it('has no traceparent to give without an active sampled span (tracing off)', () => {
    expect(currentTraceParent()).toBeUndefined();
  });
});
