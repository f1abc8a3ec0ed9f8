import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkDocument, countTokens } from '../../../src/infra/extraction/chunker.ts';
import type { ExtractedDocument } from '../../../src/infra/extraction/types.ts';

function doc(pages: string[], paginated = true): ExtractedDocument {
  return {
    mediaType: paginated ? 'application/pdf' : 'text/markdown',
    paginated,
    pages: pages.map((text, i) => ({ page: i + 1, text, ocr: false })),
    characters: pages.join('').length,
  };
}

const sentences = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `Sentence ${from + i} is about the topic numbered ${(from + i) % 11}.`).join(' ');

describe('chunkDocument', () => {
  it('cuts at headings first and keeps each chunk\'s heading path', async () => {
    const chunks = await chunkDocument(doc([
      '# Guide\n\nIntro text.\n\n## Install\n\nRun the installer.\n\n### Linux\n\nUse the package.\n\n## Use\n\nOpen the app.',
    ], false));
    expect(chunks.map((c) => [c.headingPath, c.text])).toEqual([
      [['Guide'], '# Guide\n\nIntro text.'],
      [['Guide', 'Install'], '## Install\n\nRun the installer.'],
      [['Guide', 'Install', 'Linux'], '### Linux\n\nUse the package.'],
      [['Guide', 'Use'], '## Use\n\nOpen the app.'],
    ]);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(chunks.every((c) => c.page === null)).toBe(true);
  });

  it('sees no headings inside fenced code, nor in plain text', async () => {
    const markdown = await chunkDocument(doc(['# Setup\n\n```sh\n# install it\nnpm ci\n```\n\nDone.'], false));
    expect(markdown.map((c) => c.headingPath)).toEqual([['Setup']]);
    const plain = await chunkDocument({ ...doc(['# not a heading\nwords'], false), mediaType: 'text/plain' });
    expect(plain.map((c) => [c.headingPath, c.text])).toEqual([[[], '# not a heading\nwords']]);
  });

  it('keeps text before the first heading with an empty path', async () => {
    const chunks = await chunkDocument(doc(['Preface words.\n\n# One\n\nBody.']));
    expect(chunks.map((c) => c.headingPath)).toEqual([[], ['One']]);
  });

  it('splits a long section into token-sized chunks that overlap, each with the page it starts on', async () => {
    const chunks = await chunkDocument(doc([`# Long\n\n${sentences(0, 120)}`, sentences(120, 120), `# Next\n\n${sentences(240, 5)}`]), { chunkTokens: 200, overlapTokens: 40 });
    const long = chunks.filter((c) => c.headingPath[0] === 'Long');
    expect(long.length).toBeGreaterThan(4);
    expect(chunks.every((c) => c.tokens <= 200 && c.tokens === countTokens(c.text))).toBe(true);
    expect(long[0]!.text.startsWith('# Long\n\n')).toBe(true);
    expect(long[0]!.page).toBe(1);
    expect(long.at(-1)!.page).toBe(2);
    expect(long.map((c) => c.page)).toEqual([...long.map((c) => c.page)].sort());
    // Overlap: within a paragraph, each chunk begins with words the previous one ended with (the
    // recursive splitter does not overlap across the paragraph or line breaks it cut at).
    for (let i = 1; i < long.length; i++) {
      if (long[i]!.page !== long[i - 1]!.page) continue;
      const head = long[i]!.text.split(' ').slice(0, 3).join(' ');
      expect(long[i - 1]!.text).toContain(head);
    }
    // Each chunk starts on the page that holds its first words.
    const pages = [`# Long\n\n${sentences(0, 120)}`, sentences(120, 120)];
    for (const chunk of long) {
      const first = chunk.text.replace('# Long\n\n', '').slice(0, 30);
      expect(pages[chunk.page! - 1]).toContain(first);
    }
    const next = chunks.filter((c) => c.headingPath[0] === 'Next');
    expect(next).toHaveLength(1);
    expect(next[0]!.page).toBe(3);
  });

  it('returns no chunks for a document without text', async () => {
    expect(await chunkDocument(doc(['', '   ']))).toEqual([]);
  });

  it('is deterministic, bounded by the token size, and loses no words', async () => {
    const page = fc.array(fc.oneof(
      fc.constantFrom('# A', '## B', '### C', ''),
      fc.array(fc.constantFrom('alpha', 'beta', 'gamma', 'Δelta', '42', 'x.y', 'long-word-here'), { minLength: 1, maxLength: 40 }).map((w) => w.join(' ')),
    ), { maxLength: 30 }).map((lines) => lines.join('\n'));
    await fc.assert(fc.asyncProperty(fc.array(page, { minLength: 1, maxLength: 4 }), fc.integer({ min: 16, max: 128 }), async (pages, size) => {
      const input = doc(pages);
      const first = await chunkDocument(input, { chunkTokens: size, overlapTokens: Math.floor(size / 8) });
      const second = await chunkDocument(input, { chunkTokens: size, overlapTokens: Math.floor(size / 8) });
      expect(second).toEqual(first);
      for (const chunk of first) {
        expect(chunk.tokens).toBeLessThanOrEqual(size);
        expect(chunk.page).toBeGreaterThanOrEqual(1);
        expect(chunk.page).toBeLessThanOrEqual(pages.length);
      }
      const words = (text: string) => new Set(text.split(/\s+/).filter((w) => w && !/^#+$/.test(w)));
      const chunked = words(first.map((c) => c.text).join(' '));
      for (const word of words(pages.join('\n'))) expect(chunked.has(word)).toBe(true);
    }), { numRuns: 60, seed: 3 });
  });

  it('refuses nonsense sizes', async () => {
    await expect(chunkDocument(doc(['x']), { chunkTokens: 0 })).rejects.toThrow(RangeError);
  });
});
