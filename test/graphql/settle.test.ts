import { describe, expect, it } from 'vitest';
import { announceToConversation } from '../../src/graphql/settle.ts';

/** A runner whose waits end when the test says, recording what each asked for. */
function services() {
  const waits: Array<{ position: bigint; projections: readonly string[] | undefined; timeoutMs: number | undefined; end(): void }> = [];
  const published: Array<{ topic: string; key: string; payload: unknown }> = [];
  return {
    waits,
    published,
    value: {
      config: { readYourWritesTimeoutMs: 1234 },
      projections: {
        waitFor: (position: bigint, options: { projections?: readonly string[]; timeoutMs?: number } = {}) => new Promise<boolean>((resolve) => {
          waits.push({ position, projections: options.projections, timeoutMs: options.timeoutMs, end: () => resolve(true) });
        }),
      },
      pubsub: { publish: (topic: string, key: string, payload: unknown) => { published.push({ topic, key, payload }); } },
    } as unknown as Parameters<typeof announceToConversation>[0],
  };
}

describe('announceToConversation (unit)', () => {
  it('publishes once the conversations read model shows the write, waiting for no other read model', async () => {
    const s = services();
    const announced = announceToConversation(s.value, 'c1', 42n, { kind: 'MESSAGE_ADDED', messageId: 'm1' });
    await Promise.resolve();
    expect(s.waits.map(({ position, projections, timeoutMs }) => ({ position, projections, timeoutMs })))
      .toEqual([{ position: 42n, projections: ['conversations'], timeoutMs: 1234 }]);
    expect(s.published).toEqual([]);
    s.waits[0]!.end();
    await announced;
    expect(s.published).toEqual([{ topic: 'conversation', key: 'c1', payload: { kind: 'MESSAGE_ADDED', messageId: 'm1', position: '42' } }]);
  });

  it('publishes at once, without a position, when nothing was written', async () => {
    const s = services();
    await announceToConversation(s.value, 'c1', null, { kind: 'MESSAGE_ADDED', messageId: 'm1' });
    expect(s.waits).toEqual([]);
    expect(s.published).toEqual([{ topic: 'conversation', key: 'c1', payload: { kind: 'MESSAGE_ADDED', messageId: 'm1' } }]);
  });
});
