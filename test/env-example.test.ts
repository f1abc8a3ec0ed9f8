import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/infra/config.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** `# NAME=value` lines: every variable is there, commented out. */
function exampleVariables(): Map<string, string> {
  return new Map([...read('.env.example').matchAll(/^# ([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('.env.example', () => {
  it('lists every variable of the README configuration table, and nothing else', () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### AI providers'));
    const documented = [...table.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThan(10);
    expect([...exampleVariables().keys()].sort()).toEqual([...documented].sort());
  });

  it('is a valid configuration with everything uncommented (safe values, no real secrets)', () => {
    const values = Object.fromEntries(exampleVariables());
    expect(values.MASTER_KEY).toBe('');
    expect(values.OPENAI_API_KEY).toBe('');
    const config = loadConfig(values);
    expect(config).toMatchObject({ eventStore: 'sqlite', readDb: 'pglite', host: '127.0.0.1', port: 4000, providerConnectTimeoutMs: 30_000 });
  });
});
