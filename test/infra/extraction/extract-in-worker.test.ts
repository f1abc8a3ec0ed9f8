import { describe, expect, it } from 'vitest';
import { extractDocument } from '../../../src/infra/extraction/extract-in-worker.ts';
import type { ExtractionProgress } from '../../../src/infra/extraction/types.ts';
import { drawText, encodePng, LIMITS, makeDocx, makePdf, makeScannedPdf, makeVectorTextPdf, makeXlsx, MEDIA, utf8 } from './fixtures.ts';

describe('extractDocument (in a worker thread)', () => {
  it('reads a multi-page PDF page by page, large lines as headings, and reports progress', async () => {
    const bytes = await makePdf([
      { title: 'Introduction', lines: ['The first page explains the aim.', 'It has two lines.'] },
      { lines: ['The second page has no title.'] },
      { title: 'Results', lines: ['Third page, with results.'] },
    ]);
    const progress: ExtractionProgress[] = [];
    const doc = await extractDocument(bytes, MEDIA.pdf, 'report.pdf', LIMITS, undefined, { onProgress: (p) => progress.push(p) });
    expect(doc.mediaType).toBe('application/pdf');
    expect(doc.paginated).toBe(true);
    expect(doc.pages.map((p) => p.page)).toEqual([1, 2, 3]);
    expect(doc.pages[0]!.text).toBe('# Introduction\n\nThe first page explains the aim.\nIt has two lines.');
    expect(doc.pages[1]!.text).toBe('The second page has no title.');
    expect(doc.pages[2]!.text).toBe('# Results\n\nThird page, with results.');
    expect(doc.pages.every((p) => !p.ocr)).toBe(true);
    expect(doc.characters).toBe(doc.pages.reduce((n, p) => n + p.text.length, 0));
    expect(progress.at(-1)).toEqual({ pagesDone: 3, pagesTotal: 3 });
    expect(progress.map((p) => p.pagesDone)).toEqual([1, 2, 3]);
  });

  it('reads a DOCX with its headings as # lines', async () => {
    const bytes = await makeDocx([
      { heading: 1, text: 'Travel policy' },
      { text: 'Employees book trains for trips under 500 km.' },
      { heading: 2, text: 'Hotels' },
      { text: 'Hotels up to 120 euros a night.' },
    ]);
    const doc = await extractDocument(bytes, MEDIA.docx, 'policy.docx', LIMITS);
    expect(doc.mediaType).toBe(MEDIA.docx);
    expect(doc.paginated).toBe(false);
    expect(doc.pages).toEqual([{
      page: 1, ocr: false,
      text: '# Travel policy\n\nEmployees book trains for trips under 500 km.\n\n## Hotels\n\nHotels up to 120 euros a night.',
    }]);
  });

  it('reads an XLSX as one page per sheet, each a Markdown table under the sheet name', async () => {
    const bytes = await makeXlsx([
      { name: 'Prices', rows: [['Item', 'Price'], ['Tea', 3.5], ['Coffee | large', 4]] },
      { name: 'Staff', rows: [['Name', 'Room'], ['Ada', 101]] },
    ]);
    const doc = await extractDocument(bytes, MEDIA.xlsx, 'book.xlsx', LIMITS);
    expect(doc.paginated).toBe(true);
    expect(doc.pages[0]).toEqual({ page: 1, ocr: false, text: '# Prices\n\n| Item | Price |\n| --- | --- |\n| Tea | 3.5 |\n| Coffee \\| large | 4 |' });
    expect(doc.pages[1]).toEqual({ page: 2, ocr: false, text: '# Staff\n\n| Name | Room |\n| --- | --- |\n| Ada | 101 |' });
  });

  it('reads CSV as a Markdown table, HTML with headings, Markdown and text as they are', async () => {
    const csv = await extractDocument(utf8('city;people\nBerlin;3850000\n"Köln; am Rhein";1080000\n'), 'text/csv', 'c.csv', LIMITS);
    expect(csv.pages[0]!.text).toBe('| city | people |\n| --- | --- |\n| Berlin | 3850000 |\n| Köln; am Rhein | 1080000 |');

    const html = await extractDocument(utf8('<!doctype html><html><head><style>p{}</style><script>alert(1)</script></head><body><h1>Title</h1><p>Some <b>bold</b> text.</p><h2>Part</h2><p>More.</p></body></html>'), 'text/html', 'p.html', LIMITS);
    expect(html.pages[0]!.text).toBe('# Title\n\nSome bold text.\n\n## Part\n\nMore.');

    const md = await extractDocument(utf8('# Notes\r\n\r\nLine one.\r\n'), 'application/octet-stream', 'notes.md', LIMITS);
    expect(md.mediaType).toBe('text/markdown');
    expect(md.pages[0]!.text).toBe('# Notes\n\nLine one.');

    const text = await extractDocument(utf8('plain words\n'), 'text/plain', 'a.txt', LIMITS);
    expect(text).toEqual({ mediaType: 'text/plain', paginated: false, characters: 11, pages: [{ page: 1, text: 'plain words', ocr: false }] });
  });

  it('sanitises text for PostgreSQL: no NUL, no lone surrogates', async () => {
    // A UTF-16 file may hold a lone surrogate; NUL cannot be in sniffed UTF-8 text, but can in UTF-16.
    const units = [0xfeff, ...'a'.split('').map((c) => c.charCodeAt(0)), 0x0000, 0xd800, 0x62];
    const bytes = new Uint8Array(new Uint16Array(units).buffer);
    const doc = await extractDocument(bytes, 'text/plain', 'u16.txt', LIMITS);
    expect(doc.pages[0]!.text).toBe('a\uFFFD\uFFFDb');
  });

  it('reads an image by OCR, offline', async () => {
    const png = encodePng(drawText(['HELLO WORLD', 'TOTAL PRICE']));
    const doc = await extractDocument(png, 'image/png', 'scan.png', LIMITS);
    expect(doc.mediaType).toBe('image/png');
    expect(doc.pages).toHaveLength(1);
    expect(doc.pages[0]!.ocr).toBe(true);
    expect(doc.pages[0]!.text).toContain('HELLO WORLD');
    expect(doc.pages[0]!.text).toContain('TOTAL');
  });

  it('reads the pages of a PDF without a text layer by OCR of their images', async () => {
    const bytes = await makeScannedPdf([['HELLO WORLD'], ['BLUE WHALE']]);
    const doc = await extractDocument(bytes, MEDIA.pdf, 'scan.pdf', LIMITS);
    expect(doc.pages.map((p) => p.ocr)).toEqual([true, true]);
    expect(doc.pages[0]!.text).toContain('HELLO WORLD');
    expect(doc.pages[1]!.text).toContain('BLUE WHALE');
  });

  it('renders and reads by OCR a PDF page whose text is vector outlines only (no text layer, no image)', async () => {
    const bytes = await makeVectorTextPdf([['HELLO WORLD', 'BLUE WHALE'], []]);
    const progress: number[] = [];
    const doc = await extractDocument(bytes, MEDIA.pdf, 'outlines.pdf', LIMITS, undefined, { onProgress: (p) => progress.push(p.pagesDone) });
    expect(doc.pages.map((p) => p.ocr)).toEqual([true, false]);
    expect(doc.pages[0]!.text).toContain('HELLO WORLD');
    expect(doc.pages[0]!.text).toContain('BLUE WHALE');
    expect(doc.pages[1]!.text).toBe('');
    expect(progress).toEqual([1, 2]);
  });
});
