import { describe, expect, it } from 'vitest';
import { SseDecoder } from '../../../src/infra/ai/openai-compatible.ts';
import type { SseEvent } from '../../../src/infra/ai/openai-compatible.ts';

const STREAM = [
  '\uFEFF: a comment line\r\n',
  'data: {"text":"héllo 👋"}\r\n',
  '\r\n',
  'event: ping\n',
  'data:no-space\n',
  '\n',
  ': keep-alive\r',
  'data: first line\r',
  'data:  second line (one leading space kept)\r',
  'id: 7\r',
  '\r',
  'data\n',
  '\n',
  'retry: 1000\n',
  'unknown: field\n',
  '\n',
  'data: {"crlf":"split"}\r\n',
  '\r\n',
  'data: [DONE]\n',
  '\n',
].join('');

const EXPECTED: SseEvent[] = [
  { event: 'message', data: '{"text":"héllo 👋"}', id: null },
  { event: 'ping', data: 'no-space', id: null },
  { event: 'message', data: 'first line\n second line (one leading space kept)', id: '7' },
  { event: 'message', data: '', id: '7' },
  { event: 'message', data: '{"crlf":"split"}', id: '7' },
  { event: 'message', data: '[DONE]', id: '7' },
];

function decode(parts: Uint8Array[]): SseEvent[] {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  for (const part of parts) events.push(...decoder.push(part));
  events.push(...decoder.end());
  return events;
}

describe('SseDecoder', () => {
  const bytes = new TextEncoder().encode(STREAM);

  it('decodes a whole stream: comments, CRLF/LF/CR, multi-line data, event and id fields, BOM, UTF-8', () => {
    expect(decode([bytes])).toEqual(EXPECTED);
  });

  it('gives the same events when the bytes are split at every offset', () => {
    for (let i = 0; i <= bytes.length; i++) {
      expect(decode([bytes.subarray(0, i), bytes.subarray(i)]), `split at ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same events when the bytes are split at every pair of offsets', () => {
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const events = decode([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        if (JSON.stringify(events) !== JSON.stringify(EXPECTED)) expect(events, `split at ${i} and ${j}`).toEqual(EXPECTED);
      }
    }
  });

  it('gives the same events fed one byte at a time', () => {
    expect(decode(Array.from(bytes, (byte) => Uint8Array.of(byte)))).toEqual(EXPECTED);
  });

  it('dispatches an event left without its closing blank line at the end of the stream', () => {
    const decoder = new SseDecoder();
    expect(decoder.push('data: one\n\ndata: two')).toEqual([{ event: 'message', data: 'one', id: null }]);
    expect(decoder.end()).toEqual([{ event: 'message', data: 'two', id: null }]);
  });

  it('does not dispatch blocks without data', () => {
    const decoder = new SseDecoder();
    expect([...decoder.push(': only a comment\n\nevent: x\n\n\n\n'), ...decoder.end()]).toEqual([]);
  });
});
