// OpenTelemetry: a server process with OTEL_EXPORTER_OTLP_ENDPOINT set sends its spans over OTLP/HTTP
// (JSON) to a receiver on loopback; a GraphQL mutation gives connected spans operation → command →
// append; projections link to it; a reply continues the sendMessage trace with its provider span;
// and log lines inside a span carry its trace id.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually, removeTempDirs, sendMessage, signUp, startConversation, startFakeProvider, startServer, stopAllProcesses, tempDir,
  type ProviderProcess, type ServerProcess,
} from './support.ts';

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; links?: Array<{ traceId: string; spanId: string }> }

describe('e2e: OpenTelemetry spans over OTLP/HTTP', () => {
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  let receiver: Server;
  let provider: ProviderProcess;
  let server: ServerProcess;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        paths.push(req.url ?? '');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
        };
        for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    provider = await startFakeProvider();
    server = await startServer({
      dataDir: tempDir(), providerUrl: provider.url,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '200', LOG_LEVEL: 'debug' },
    });
  });

  afterAll(async () => {
    try {
      expect(await server?.stop()).toEqual({ code: 0, signal: null });
      await provider?.stop();
    } finally {
      await stopAllProcesses();
      receiver?.close();
      removeTempDirs();
    }
  });

  it('a mutation is one trace: graphql operation → command → event-store append; a reply has a provider span', async () => {
    const user = await signUp(server.url);
    const conversationId = await startConversation(server.url, user.token, 'fake-echo');
    await sendMessage(server.url, user.token, conversationId, 'hello');
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const operation = await eventually(async () => byName('graphql mutation startConversation')[0], 'the startConversation span');
    const command = await eventually(async () => spans.find((s) => s.parentSpanId === operation.spanId && s.name.startsWith('command ')), 'its command span');
    expect(command.traceId).toBe(operation.traceId);
    const append = await eventually(async () => spans.find((s) => s.parentSpanId === command.spanId && s.name === 'event-store append'), 'its append span');
    expect(append.traceId).toBe(operation.traceId);
    // The projection that applied the conversation's first event links to that command's trace (it runs
    // later, in its own transaction, possibly on another instance; the event carries the traceparent).
    const projected = await eventually(async () => spans.find((s) => s.name === 'projection conversations'
      && (s.links ?? []).some((link) => link.traceId === operation.traceId)), 'a conversations projection span linked to the operation');
    expect(projected.traceId).not.toBe(operation.traceId);
    // The reply joins the trace of the sendMessage operation: reply → provider stream.
    const send = await eventually(async () => byName('graphql mutation sendMessage')[0], 'the sendMessage span');
    const reply = await eventually(async () => spans.find((s) => s.name === 'reply' && s.traceId === send.traceId), 'the reply span in its trace');
    await eventually(async () => spans.find((s) => s.name === 'provider stream' && s.traceId === send.traceId && s.parentSpanId === reply.spanId),
      'the provider span under the reply');
    expect(paths.every((path) => path === '/v1/traces')).toBe(true);
    const traced = new Set(spans.map((s) => s.traceId));
    expect(server.logs().some((line) => typeof line.traceId === 'string' && traced.has(line.traceId))).toBe(true);
  });
});
