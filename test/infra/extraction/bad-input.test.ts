import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractDocument } from '../../../src/infra/extraction/extract-in-worker.ts';
import { EXTRACTION_FAILURE_REASONS, ExtractionFailedError, type ExtractionFailureReason } from '../../../src/infra/extraction/types.ts';
import { encodePng, drawText, LIMITS, makeDocx, makeLongScannedPdf, makePdf, makeVectorTextPdf, makeXlsx, makeZip, MEDIA, utf8 } from './fixtures.ts';

/**
 * Hostile files: each ends in ExtractionFailedError with the right reason, in its worker, while the
 * test process (which is the "main process" here) stays up and a good extraction beside it succeeds.
 */

const SECRET = 'Zanzibar';

async function failure(promise: Promise<unknown>): Promise<ExtractionFailedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExtractionFailedError);
    const failed = error as ExtractionFailedError;
    expect(failed.message).not.toContain(SECRET);
    return failed;
  }
  throw new Error('expected the extraction to fail');
}

async function expectReason(promise: Promise<unknown>, reason: ExtractionFailureReason): Promise<void> {
  expect((await failure(promise)).reason).toBe(reason);
}

/** Either a document or a known failure; anything else (a crash, a foreign error) fails the property. */
async function survives(promise: Promise<unknown>): Promise<void> {
  try {
    const doc = await promise as { pages: unknown[] };
    expect(Array.isArray(doc.pages)).toBe(true);
  } catch (error) {
    expect(error).toBeInstanceOf(ExtractionFailedError);
    expect(EXTRACTION_FAILURE_REASONS).toContain((error as ExtractionFailedError).reason);
    expect((error as Error).message).not.toContain(SECRET);
  }
}

const goodPdf = () => makePdf([{ title: 'Report', lines: [`The word ${SECRET} is secret.`] }]);

describe('bad input', () => {
  it('refuses an empty file, and a text file of only blanks', async () => {
    await expectReason(extractDocument(new Uint8Array(0), 'text/plain', 'empty.txt', LIMITS), 'empty');
    await expectReason(extractDocument(utf8(' \n\t\n'), 'text/plain', 'blank.txt', LIMITS), 'empty');
  });

  it('refuses files whose declared type lies about their bytes', async () => {
    const pdf = await goodPdf();
    const docx = await makeDocx([{ text: SECRET }]);
    await expectReason(extractDocument(pdf, 'text/plain', 'a.txt', LIMITS), 'type-mismatch');
    await expectReason(extractDocument(utf8(`${SECRET} is text`), MEDIA.pdf, 'a.pdf', LIMITS), 'type-mismatch');
    await expectReason(extractDocument(docx, MEDIA.xlsx, 'a.xlsx', LIMITS), 'type-mismatch');
    await expectReason(extractDocument(encodePng(drawText(['HI'])), 'image/jpeg', 'a.jpg', LIMITS), 'type-mismatch');
    await expectReason(extractDocument(pdf, MEDIA.docx, 'a.docx', LIMITS), 'type-mismatch');
  });

  it('refuses types it does not read', async () => {
    await expectReason(extractDocument(makeZip([{ name: 'notes.txt', data: utf8(SECRET) }]), 'application/zip', 'a.zip', LIMITS), 'unsupported-type');
    await expectReason(extractDocument(new Uint8Array([0x00, 0x01, 0x02, 0xff, 0xfe, 0x00]), 'application/octet-stream', 'a.bin', LIMITS), 'unsupported-type');
    await expectReason(extractDocument(utf8('{"a":1}'), 'application/json', 'a.json', LIMITS), 'unsupported-type');
  });

  it('refuses malformed PDF, DOCX and XLSX bytes', async () => {
    await expectReason(extractDocument(utf8(`%PDF-1.7\n${SECRET} garbage without objects`), MEDIA.pdf, 'a.pdf', LIMITS), 'malformed');
    const docx = await makeDocx([{ heading: 1, text: SECRET }]);
    await expectReason(extractDocument(docx.subarray(0, Math.floor(docx.length / 2)), MEDIA.docx, 'a.docx', LIMITS), 'malformed');
    const xlsx = await makeXlsx([{ name: 'S', rows: [[SECRET]] }]);
    await expectReason(extractDocument(xlsx.subarray(0, Math.floor(xlsx.length / 2)), MEDIA.xlsx, 'a.xlsx', LIMITS), 'malformed');
    // A ZIP that names the DOCX parts but holds garbage in them.
    const fake = makeZip([{ name: '[Content_Types].xml', data: utf8('<nope') }, { name: 'word/document.xml', data: utf8(`<${SECRET}`) }]);
    await expectReason(extractDocument(fake, MEDIA.docx, 'a.docx', LIMITS), 'malformed');
  });

  it('stops a DOCX zip bomb before inflating it, whether its headers tell the truth or lie', async () => {
    const limits = { ...LIMITS, maxUncompressedBytes: 1024 * 1024 };
    const bomb = new Uint8Array(20 * 1024 * 1024); // 20 MB of zeros deflates to about 20 KB
    const honest = makeZip([{ name: '[Content_Types].xml', data: utf8('<Types/>') }, { name: 'word/document.xml', data: bomb }]);
    const lying = makeZip([{ name: '[Content_Types].xml', data: utf8('<Types/>') }, { name: 'word/document.xml', data: bomb, declaredSize: 100 }]);
    expect(honest.length).toBeLessThan(limits.maxUncompressedBytes);
    await expectReason(extractDocument(honest, MEDIA.docx, 'bomb.docx', limits), 'too-large-uncompressed');
    await expectReason(extractDocument(lying, MEDIA.docx, 'bomb.docx', limits), 'too-large-uncompressed');
  });

  it('refuses an image whose header claims more pixels than the limit allows, before decoding it', async () => {
    const png = encodePng(drawText(['HI']));
    new DataView(png.buffer).setUint32(16, 100_000); // width
    new DataView(png.buffer).setUint32(20, 100_000); // height
    await expectReason(extractDocument(png, 'image/png', 'huge.png', LIMITS), 'too-large-uncompressed');
  });

  it('refuses a 200-page scanned PDF over maxPages without reading its pages', async () => {
    const scanned = await makeLongScannedPdf(200);
    await expectReason(extractDocument(scanned, MEDIA.pdf, 'book.pdf', { ...LIMITS, maxPages: 50 }), 'too-many-pages');
  });

  it('stops an extraction that runs past timeoutMs', async () => {
    const scanned = await makeLongScannedPdf(200);
    await expectReason(extractDocument(scanned, MEDIA.pdf, 'book.pdf', { ...LIMITS, timeoutMs: 1 }), 'timeout');
  });

  it('refuses a 200-page PDF of outline text over maxPages without rendering any page', async () => {
    const outlines = await makeVectorTextPdf(Array.from({ length: 200 }, () => ['HELLO WORLD']));
    const progress: number[] = [];
    await expectReason(extractDocument(outlines, MEDIA.pdf, 'outlines.pdf', { ...LIMITS, maxPages: 50 }, undefined,
      { onProgress: (p) => progress.push(p.pagesDone) }), 'too-many-pages');
    expect(progress).toEqual([]);
  });

  it('stops rendering and reading outline pages when the job runs past timeoutMs', async () => {
    // 200 pages to render and OCR take minutes here (a second or more each); the job gets 15 s.
    const outlines = await makeVectorTextPdf(Array.from({ length: 200 }, () => ['HELLO WORLD']));
    const progress: number[] = [];
    await expectReason(extractDocument(outlines, MEDIA.pdf, 'outlines.pdf', { ...LIMITS, timeoutMs: 15_000 }, undefined,
      { onProgress: (p) => progress.push(p.pagesDone) }), 'timeout');
    expect(progress.length).toBeLessThan(200);
    // The worker (and the native canvas in it) is gone and the next job runs normally.
    const doc = await extractDocument(await goodPdf(), MEDIA.pdf, 'good.pdf', LIMITS);
    expect(doc.pages[0]!.text).toContain(SECRET);
  }, 60_000);

  it('stops an extraction that runs out of its memory', async () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => `${i},${SECRET} row ${i},${i * 7}`).join('\n');
    await expectReason(extractDocument(utf8(`id,name,value\n${rows}`), 'text/csv', 'big.csv', { ...LIMITS, maxMemoryMb: 16 }), 'out-of-memory');
  });

  it('rejects with the abort reason when the caller aborts, and says no PDF has no text when it has none', async () => {
    const controller = new AbortController();
    const running = extractDocument(await makeLongScannedPdf(200), MEDIA.pdf, 'book.pdf', LIMITS, controller.signal);
    controller.abort(new Error('document deleted'));
    await expect(running).rejects.toThrow('document deleted');
    await expectReason(extractDocument(await makePdf([{ lines: [] }, { lines: [] }]), MEDIA.pdf, 'blank.pdf', LIMITS), 'no-text');
  });

  it('keeps a good extraction going beside hostile ones', async () => {
    const limits = { ...LIMITS, maxUncompressedBytes: 1024 * 1024 };
    const bomb = makeZip([{ name: 'word/document.xml', data: new Uint8Array(20 * 1024 * 1024), declaredSize: 1 }]);
    // Every fixture first: an await between the extractions would leave an early rejection unhandled.
    const [goodBytes, slowBytes] = [await goodPdf(), await makeLongScannedPdf(200)];
    const [good, ...bad] = await Promise.allSettled([
      extractDocument(goodBytes, MEDIA.pdf, 'good.pdf', limits),
      extractDocument(bomb, MEDIA.docx, 'bomb.docx', limits),
      extractDocument(slowBytes, MEDIA.pdf, 'slow.pdf', { ...limits, timeoutMs: 1 }),
      extractDocument(utf8('%PDF-1.4 nothing'), MEDIA.pdf, 'broken.pdf', limits),
    ]);
    expect(good.status).toBe('fulfilled');
    expect((good as PromiseFulfilledResult<{ pages: Array<{ text: string }> }>).value.pages[0]!.text).toContain(SECRET);
    expect(bad.map((r) => r.status === 'rejected' && (r.reason as ExtractionFailedError).reason)).toEqual(['too-large-uncompressed', 'timeout', 'malformed']);
  });

  describe('fuzz', () => {
    const mutated = (base: Uint8Array) => fc.oneof(
      fc.integer({ min: 0, max: base.length - 1 }).map((end) => base.subarray(0, end)),
      fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }).map((edits) => {
        const copy = new Uint8Array(base);
        for (const [at, value] of edits) copy[at] = value;
        return copy;
      }),
      fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((tail) => new Uint8Array([...base.subarray(0, 8), ...tail])),
    );

    it('damaged PDFs end in a document or a known failure', async () => {
      const base = await goodPdf();
      await fc.assert(fc.asyncProperty(mutated(base), (bytes) => survives(extractDocument(bytes, MEDIA.pdf, 'f.pdf', LIMITS))), { numRuns: 12, seed: 7 });
    });

    it('damaged DOCX files end in a document or a known failure', async () => {
      const base = await makeDocx([{ heading: 1, text: 'Title' }, { text: SECRET }]);
      await fc.assert(fc.asyncProperty(mutated(base), (bytes) => survives(extractDocument(bytes, MEDIA.docx, 'f.docx', LIMITS))), { numRuns: 12, seed: 7 });
    });

    it('damaged XLSX files end in a document or a known failure', async () => {
      const base = await makeXlsx([{ name: 'S', rows: [['a', SECRET], [1, 2]] }]);
      await fc.assert(fc.asyncProperty(mutated(base), (bytes) => survives(extractDocument(bytes, MEDIA.xlsx, 'f.xlsx', LIMITS))), { numRuns: 12, seed: 7 });
    });

    it('arbitrary bytes under any declared type end in a document or a known failure', async () => {
      const declared = fc.constantFrom('application/pdf', MEDIA.docx, MEDIA.xlsx, 'text/plain', 'text/csv', 'text/html', 'image/png', 'application/octet-stream', '');
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), declared, (bytes, type) => survives(extractDocument(bytes, type, 'f', LIMITS))), { numRuns: 20, seed: 7 });
    });
  });
});
