// The first load of the web app stays under 300 KB of JavaScript, compressed as the server would
// send it (gzip): the scripts index.html loads, and the chunks they import statically. Pages loaded
// on demand (documents, account, admin) are not part of it. A size, not a time: it does not vary
// with the machine's load.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, DIST, webBuildIsFresh } from '../../scripts/web-build.mjs';

export const FIRST_LOAD_BUDGET_BYTES = 300 * 1024;

/** The JavaScript files a first visit loads: index.html's scripts and, transitively, their static imports. */
export function firstLoadScripts(dist: string): string[] {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const pending = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const seen = new Set<string>();
  while (pending.length) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(dist, file), 'utf8');
    // Static imports only (`import … from "./x.js"` / `import "./x.js"`); `import("./x.js")` loads later.
    for (const m of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) pending.push(`assets/${m[1]}`);
  }
  return [...seen];
}

describe('web app bundle (unit)', () => {
  beforeAll(async () => {
    if (!webBuildIsFresh()) await buildWeb();
  }, 180_000);

  it(`loads at most ${FIRST_LOAD_BUDGET_BYTES / 1024} KB of compressed JavaScript first`, () => {
    const files = firstLoadScripts(DIST);
    expect(files.length).toBeGreaterThan(0);
    const sizes = files.map((file) => ({ file, gzip: gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length }));
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    console.log(`web first load: ${(total / 1024).toFixed(1)} KB gzip in ${files.length} file(s)`);
    expect(total, JSON.stringify(sizes)).toBeLessThanOrEqual(FIRST_LOAD_BUDGET_BYTES);
  });

  it('leaves the pages most visits never open out of the first load', () => {
    const first = firstLoadScripts(DIST).join(' ');
    expect(first).not.toMatch(/admin-page|account-page|documents-page/);
  });
});
