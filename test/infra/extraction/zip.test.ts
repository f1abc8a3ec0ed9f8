import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkUncompressedSize, readZipEntries } from '../../../src/infra/extraction/zip.ts';
import { ExtractionFailedError } from '../../../src/infra/extraction/types.ts';
import { makeDocx, makeZip, utf8 } from './fixtures.ts';

function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ExtractionFailedError) return error.reason;
    throw error;
  }
  return 'none';
}

describe('zip', () => {
  it('lists the entries of a real DOCX', async () => {
    const names = readZipEntries(await makeDocx([{ text: 'x' }])).map((e) => e.name);
    expect(names).toContain('word/document.xml');
    expect(names).toContain('[Content_Types].xml');
  });

  it('measures what entries really inflate to, not what they declare', () => {
    const data = new Uint8Array(300_000);
    for (const declaredSize of [data.length, 10]) {
      const zip = makeZip([{ name: 'a.xml', data, declaredSize }]);
      const entries = readZipEntries(zip);
      expect(reasonOf(() => checkUncompressedSize(zip, entries, 299_999))).toBe('too-large-uncompressed');
      expect(reasonOf(() => checkUncompressedSize(zip, entries, 300_000))).toBe('none');
    }
  });

  it('counts the total over all entries', () => {
    const zip = makeZip([{ name: 'a', data: new Uint8Array(600) }, { name: 'b', data: new Uint8Array(600) }]);
    expect(reasonOf(() => checkUncompressedSize(zip, readZipEntries(zip), 1000))).toBe('too-large-uncompressed');
  });

  it('never throws anything but a typed failure on damaged archives', () => {
    const base = makeZip([{ name: 'word/document.xml', data: utf8('<w:document>hello</w:document>'.repeat(20)) }]);
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 10 }), fc.nat({ max: base.length }), (edits, cut) => {
      const bytes = new Uint8Array(base);
      for (const [at, value] of edits) bytes[at] = value;
      const damaged = bytes.subarray(0, Math.max(cut, 4));
      try {
        checkUncompressedSize(damaged, readZipEntries(damaged), 1_000_000);
      } catch (error) {
        expect(error).toBeInstanceOf(ExtractionFailedError);
      }
    }), { numRuns: 300, seed: 11 });
  });
});
