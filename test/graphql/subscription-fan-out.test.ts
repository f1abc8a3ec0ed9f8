import { createSchema, createYoga } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import { shareSubscriptionEvents } from '../../src/graphql/shared-subscription-events.ts';
import { leanSseResults } from '../../src/graphql/sse-results.ts';

interface Tick { n: number }

/** A yoga with one subscription fed by the test: every subscriber is handed the same event objects. */
function server() {
  const subscribers = new Set<(tick: Tick | Error) => void>();
  let executions = 0;
  let closed = 0;
  const schema = createSchema<{ session: string }>({
    typeDefs: /* GraphQL */ `
      type Tick { n: Int!, label(prefix: String!): String!, broken: String }
      type Query { ok: Boolean }
      type Subscription { ticks(feed: String!): Tick! }
    `,
    resolvers: {
      Tick: {
        label: (tick: Tick, args: { prefix: string }) => {
          executions++;
          return `${args.prefix}${tick.n}`;
        },
        broken: () => { throw new GraphQLError('broken field', { extensions: { code: 'BROKEN', http: { status: 418 } } }); },
      },
      Subscription: {
        ticks: {
          subscribe: async function* () {
            const queue: Array<Tick | Error> = [];
            let wake: (() => void) | null = null;
            const push = (tick: Tick | Error) => { queue.push(tick); wake?.(); };
            subscribers.add(push);
            try {
              for (;;) {
                while (queue.length === 0) await new Promise<void>((resolve) => { wake = resolve; });
                const next = queue.shift()!;
                if (next instanceof Error) throw next;
                yield next;
              }
            } finally {
              subscribers.delete(push);
              closed++;
            }
          },
          resolve: (tick: Tick) => tick,
        },
      },
    },
  });
  const yoga = createYoga<{ session: string }>({
    schema,
    context: ({ request }) => ({ session: request.headers.get('x-session') ?? '' }),
    plugins: [shareSubscriptionEvents((context) => (context as { session: string }).session || null), leanSseResults(), {
      // A header set on the response of one request only, as CORS sets the origin it answers.
      onResponse({ request, response }) { response.headers.set(`x-for-${request.headers.get('x-session') ?? ''}`, '1'); },
    }],
    maskedErrors: false,
  });
  return {
    yoga,
    publish: (tick: Tick | Error) => { for (const push of subscribers) push(tick); },
    subscribers: () => subscribers.size,
    executions: () => executions,
    closed: () => closed,
  };
}

/** An SSE subscription read frame by frame. */
async function subscribe(yoga: ReturnType<typeof server>['yoga'], session: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-session': session },
    body: JSON.stringify({ query, variables }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const chunks: string[] = [];
  return {
    response,
    chunks,
    /** The next frame that is not a ping, or null at the end. */
    async frame(): Promise<string | null> {
      for (;;) {
        const end = text.indexOf('\n\n');
        if (end >= 0) {
          const frame = text.slice(0, end);
          text = text.slice(end + 2);
          if (frame === ':') continue;
          return frame;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        const chunk = decoder.decode(value, { stream: true });
        chunks.push(chunk);
        text += chunk;
      }
    },
    cancel: () => reader.cancel(),
  };
}

const TICKS = 'subscription($feed: String!, $prefix: String!) { ticks(feed: $feed) { n label(prefix: $prefix) } }';

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('subscription fan-out: shared results and the SSE stream (int)', () => {
  let opened: Array<{ cancel: () => Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(opened.map((s) => s.cancel().catch(() => {})));
    opened = [];
  });

  it('executes an event once for every subscription of one session with the same document and variables', async () => {
    const s = server();
    const subs = await Promise.all([1, 2, 3].map(() => subscribe(s.yoga, 'session-a', TICKS, { feed: 'f', prefix: 'x' })));
    opened.push(...subs);
    await until(() => s.subscribers() === 3);
    s.publish({ n: 1 });
    for (const sub of subs) expect(await sub.frame()).toBe('event: next\ndata: {"data":{"ticks":{"n":1,"label":"x1"}}}');
    expect(s.executions()).toBe(1);
    // A new event object is executed again.
    s.publish({ n: 2 });
    for (const sub of subs) expect(await sub.frame()).toBe('event: next\ndata: {"data":{"ticks":{"n":2,"label":"x2"}}}');
    expect(s.executions()).toBe(2);
  });

  it('does not share across sessions, variables or documents', async () => {
    const s = server();
    const subs = await Promise.all([
      subscribe(s.yoga, 'session-a', TICKS, { feed: 'f', prefix: 'x' }),
      subscribe(s.yoga, 'session-b', TICKS, { feed: 'f', prefix: 'x' }),
      subscribe(s.yoga, 'session-a', TICKS, { feed: 'f', prefix: 'y' }),
      subscribe(s.yoga, 'session-a', `${TICKS} `, { feed: 'f', prefix: 'x' }),
    ]);
    opened.push(...subs);
    await until(() => s.subscribers() === 4);
    s.publish({ n: 7 });
    const frames = await Promise.all(subs.map((sub) => sub.frame()));
    expect(frames.map((f) => JSON.parse(f!.split('data: ')[1]!).data.ticks.label)).toEqual(['x7', 'x7', 'y7', 'x7']);
    expect(s.executions()).toBe(4);
  });

  it('a result with errors is not handed on, and its frame is yoga\'s (internal extensions stripped)', async () => {
    const s = server();
    const query = 'subscription { ticks(feed: "f") { n broken } }';
    const subs = await Promise.all([subscribe(s.yoga, 'session-a', query), subscribe(s.yoga, 'session-a', query)]);
    opened.push(...subs);
    await until(() => s.subscribers() === 2);
    s.publish({ n: 3 });
    for (const sub of subs) {
      const frame = await sub.frame();
      const body = JSON.parse(frame!.split('data: ')[1]!) as { data: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
      expect(body.errors[0]!.message).toBe('broken field');
      expect(body.errors[0]!.extensions).toEqual({ code: 'BROKEN' });
      expect(body.data).toEqual({ ticks: { n: 3, broken: null } });
    }
  });

  it('writes a ping first, one chunk per result, and `event: complete` when the subscription ends', async () => {
    const s = server();
    const sub = await subscribe(s.yoga, 'session-a', TICKS, { feed: 'f', prefix: 'x' });
    opened.push(sub);
    expect(sub.response.headers.get('content-type')).toBe('text/event-stream');
    await until(() => s.subscribers() === 1);
    s.publish({ n: 1 });
    expect(await sub.frame()).toContain('"label":"x1"');
    expect(sub.chunks[0]).toBe(':\n\n');
    expect(sub.chunks).toContain('event: next\ndata: {"data":{"ticks":{"n":1,"label":"x1"}}}\n\n');
    s.publish(new Error('source failed'));
    const failed = await sub.frame();
    expect(JSON.parse(failed!.split('data: ')[1]!).errors[0].message).toBe('source failed');
    expect(await sub.frame()).toBe('event: complete\ndata:');
    expect(await sub.frame()).toBeNull();
  });

  it('headers set on one response are not on the next one\'s', async () => {
    const s = server();
    const a = await subscribe(s.yoga, 'session-a', TICKS, { feed: 'f', prefix: 'x' });
    const b = await subscribe(s.yoga, 'session-b', TICKS, { feed: 'f', prefix: 'x' });
    opened.push(a, b);
    expect(a.response.headers.get('x-for-session-a')).toBe('1');
    expect(b.response.headers.get('x-for-session-b')).toBe('1');
    expect(b.response.headers.get('x-for-session-a')).toBeNull();
  });

  it('a client that leaves ends its subscription on the server', async () => {
    const s = server();
    const sub = await subscribe(s.yoga, 'session-a', TICKS, { feed: 'f', prefix: 'x' });
    await until(() => s.subscribers() === 1);
    s.publish({ n: 1 });
    expect(await sub.frame()).toContain('"n":1');
    await sub.cancel();
    // The generator is paused awaiting its next item; an async generator takes the return at its next yield.
    s.publish({ n: 2 });
    await until(() => s.closed() === 1);
    expect(s.subscribers()).toBe(0);
  });
});
