import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { OpenAiCompatibleProvider } from '../../../src/infra/ai/openai-compatible.ts';

const SERVER = new URL('../../support/fake-openai-server.ts', import.meta.url).pathname;

describe('fake OpenAI server, standalone mode', () => {
  it('prints its port, serves a streaming chat to another process, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [SERVER, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line within 15 s: ${stderr}`)), 15_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /^listening (\d+)$/.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before listening: ${stderr}`));
        });
      });
      expect(port).toBeGreaterThan(0);

      const provider = new OpenAiCompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, connectTimeoutMs: 5000, idleTimeoutMs: 5000 });
      const chunks = [];
      for await (const chunk of provider.streamChat({ model: 'fake-echo', messages: [{ role: 'user', content: 'from another process' }] })) {
        chunks.push(chunk);
      }
      expect(chunks.filter((c) => c.type === 'delta').map((c) => c.text).join('')).toBe('You said: from another process');
      expect(chunks.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop', usage: { promptTokens: 3 } });
      expect((await provider.listModels()).map((m) => m.id)).toContain('fake-slow');
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    expect(await exited).toBe(0);
  });
});
