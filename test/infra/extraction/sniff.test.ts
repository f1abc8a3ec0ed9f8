import { describe, expect, it } from 'vitest';
import { sniffType } from '../../../src/infra/extraction/sniff.ts';
import { ExtractionFailedError } from '../../../src/infra/extraction/types.ts';
import { drawText, encodePng, makeDocx, makePdf, makeXlsx, makeZip, MEDIA, utf8 } from './fixtures.ts';

function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ExtractionFailedError) return error.reason;
    throw error;
  }
  return 'none';
}

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
const TIFF = new Uint8Array([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]);
const WEBP = new Uint8Array([...utf8('RIFF'), 0, 0, 0, 0, ...utf8('WEBPVP8 ')]);
const BMP = new Uint8Array([0x42, 0x4d, ...new Array<number>(40).fill(0)]);

describe('sniffType', () => {
  it('knows the binary formats by their bytes, whatever a generic declared type says', async () => {
    expect(sniffType(await makePdf([{ lines: ['x'] }]), 'application/octet-stream', 'x').kind).toBe('pdf');
    expect(sniffType(await makeDocx([{ text: 'x' }]), '', 'x').kind).toBe('docx');
    expect(sniffType(await makeXlsx([{ name: 'S', rows: [['x']] }]), '', 'x').kind).toBe('xlsx');
    expect(sniffType(encodePng(drawText(['A'])), '', 'x').mediaType).toBe('image/png');
    expect(sniffType(JPEG, 'image/jpg', 'x.jpg').mediaType).toBe('image/jpeg');
    expect(sniffType(TIFF, '', 'x').mediaType).toBe('image/tiff');
    expect(sniffType(WEBP, 'image/webp', 'x').mediaType).toBe('image/webp');
    expect(sniffType(BMP, '', 'x').mediaType).toBe('image/bmp');
  });

  it('decides the kind of text by declared type, then extension, then an HTML doctype', () => {
    expect(sniffType(utf8('a,b'), 'text/csv', 'x.txt').kind).toBe('csv');
    expect(sniffType(utf8('a,b'), 'text/plain', 'x.csv').kind).toBe('csv');
    expect(sniffType(utf8('# x'), 'text/plain; charset=utf-8', 'x.md').kind).toBe('markdown');
    expect(sniffType(utf8('# x'), 'text/markdown', 'x').kind).toBe('markdown');
    expect(sniffType(utf8('<p>x</p>'), '', 'x.htm').kind).toBe('html');
    expect(sniffType(utf8('  <!DOCTYPE html><p>x'), 'application/octet-stream', 'x').kind).toBe('html');
    expect(sniffType(utf8('just words'), '', 'x').kind).toBe('text');
    expect(sniffType(utf8('ünïcödé'), 'text/plain', 'x.txt').encoding).toBe('utf-8');
    expect(sniffType(new Uint8Array([0xff, 0xfe, 0x61, 0x00]), 'text/plain', 'x.txt').encoding).toBe('utf-16le');
  });

  it('takes text that mentions a PDF header for text', () => {
    expect(sniffType(utf8('Notes on the format.\nEvery file starts with %PDF-1.7 and then objects.'), 'text/plain', 'x.txt').kind).toBe('text');
  });

  it('accepts a UTF-8 character cut by the sniffing window', () => {
    const bytes = utf8(`${'a'.repeat(64 * 1024 - 1)}é and more`);
    expect(sniffType(bytes, 'text/plain', 'x.txt').kind).toBe('text');
  });

  it('refuses a declared type that contradicts the bytes', async () => {
    const pdf = await makePdf([{ lines: ['x'] }]);
    expect(reasonOf(() => sniffType(pdf, 'text/plain', 'x.txt'))).toBe('type-mismatch');
    expect(reasonOf(() => sniffType(pdf, 'image/png', 'x.png'))).toBe('type-mismatch');
    expect(reasonOf(() => sniffType(utf8('words'), MEDIA.pdf, 'x.pdf'))).toBe('type-mismatch');
    expect(reasonOf(() => sniffType(utf8('words'), 'image/png', 'x.png'))).toBe('type-mismatch');
    const xlsx = await makeXlsx([{ name: 'S', rows: [['x']] }]);
    expect(reasonOf(() => sniffType(xlsx, MEDIA.docx, 'x.docx'))).toBe('type-mismatch');
    expect(reasonOf(() => sniffType(JPEG, 'image/png', 'x.png'))).toBe('type-mismatch');
  });

  it('refuses what it cannot read, and an empty file', () => {
    expect(reasonOf(() => sniffType(new Uint8Array(0), 'text/plain', 'x'))).toBe('empty');
    expect(reasonOf(() => sniffType(new Uint8Array([1, 0, 2, 0]), '', 'x.bin'))).toBe('unsupported-type');
    expect(reasonOf(() => sniffType(new Uint8Array([0xc3, 0x28, 0x41]), 'text/plain', 'x.txt'))).toBe('unsupported-type');
    expect(reasonOf(() => sniffType(makeZip([{ name: 'a.txt', data: utf8('x') }]), '', 'x.zip'))).toBe('unsupported-type');
    expect(reasonOf(() => sniffType(makeZip([{ name: 'a.txt', data: utf8('x') }]), MEDIA.docx, 'x.docx'))).toBe('malformed');
    expect(reasonOf(() => sniffType(new Uint8Array([1, 0, 2, 0]), MEDIA.pdf, 'x.pdf'))).toBe('malformed');
    expect(reasonOf(() => sniffType(utf8('x'), 'application/msword', 'x.doc'))).toBe('unsupported-type');
  });
});
