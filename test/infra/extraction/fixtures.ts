import { crc32, deflateRawSync, deflateSync } from 'node:zlib';
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import ExcelJS from 'exceljs';
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib';
import type { ExtractionLimits } from '../../../src/infra/extraction/types.ts';

/**
 * Test fixtures drawn without a font rasteriser: a 5×7 bitmap font scaled up, written as PNG
 * (zlib + crc32 from node:zlib) so OCR has real pixels to read.
 */
const GLYPHS: Record<string, string[]> = {
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
  B: ['11110', '10001', '10001', '11110', '10001', '10001', '11110'],
  C: ['01110', '10001', '10000', '10000', '10000', '10001', '01110'],
  D: ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  G: ['01110', '10001', '10000', '10111', '10001', '10001', '01111'],
  H: ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
  K: ['10001', '10010', '10100', '11000', '10100', '10010', '10001'],
  L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  M: ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
  N: ['10001', '11001', '10101', '10011', '10001', '10001', '10001'],
  O: ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
  P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  U: ['10001', '10001', '10001', '10001', '10001', '10001', '01110'],
  V: ['10001', '10001', '10001', '10001', '10001', '01010', '00100'],
  W: ['10001', '10001', '10001', '10101', '10101', '10101', '01010'],
  X: ['10001', '10001', '01010', '00100', '01010', '10001', '10001'],
  Y: ['10001', '10001', '01010', '00100', '00100', '00100', '00100'],
  ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
};

export interface GreyImage { width: number; height: number; pixels: Uint8Array }

/** Black text on white, one line per entry, `scale` pixels per font dot. */
export function drawText(lines: string[], scale = 6): GreyImage {
  const margin = 4 * scale;
  const advance = 6 * scale;
  const lineHeight = 11 * scale;
  const width = margin * 2 + Math.max(...lines.map((l) => l.length)) * advance;
  const height = margin * 2 + lines.length * lineHeight;
  const pixels = new Uint8Array(width * height).fill(255);
  lines.forEach((line, row) => {
    [...line.toUpperCase()].forEach((char, column) => {
      const glyph = GLYPHS[char];
      if (!glyph) throw new Error(`no glyph for ${char}`);
      glyph.forEach((bits, gy) => {
        [...bits].forEach((bit, gx) => {
          if (bit !== '1') return;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const x = margin + column * advance + gx * scale + dx;
              const y = margin + row * lineHeight + gy * scale + dy;
              pixels[y * width + x] = 0;
            }
          }
        });
      });
    });
  });
  return { width, height, pixels };
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit greyscale PNG of the image. */
export function encodePng(image: GreyImage): Uint8Array {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const raw = Buffer.alloc((image.width + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    raw[y * (image.width + 1)] = 0; // filter: none
    raw.set(image.pixels.subarray(y * image.width, (y + 1) * image.width), y * (image.width + 1) + 1);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([signature, pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0))]));
}

// ---- Document fixtures, generated with the libraries a user's tools would use. ----

export const LIMITS: ExtractionLimits = { maxPages: 500, timeoutMs: 120_000, maxMemoryMb: 512, maxUncompressedBytes: 200 * 1024 * 1024 };

/** Each page: a large title line and body lines in 12 pt. */
export async function makePdf(pages: Array<{ title?: string; lines: string[] }>): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const spec of pages) {
    const page = doc.addPage([595, 842]);
    let y = 780;
    if (spec.title) { page.drawText(spec.title, { x: 50, y, font, size: 22 }); y -= 40; }
    for (const line of spec.lines) { page.drawText(line, { x: 50, y, font, size: 12 }); y -= 16; }
  }
  return doc.save();
}

/** A "scanned" PDF: every page is one image of text and there is no text layer. */
export async function makeScannedPdf(pageLines: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  for (const lines of pageLines) {
    const image = drawText(lines);
    const png = await doc.embedPng(encodePng(image));
    const page = doc.addPage([image.width, image.height]);
    page.drawImage(png, { x: 0, y: 0, width: image.width, height: image.height });
  }
  return doc.save();
}

export async function makeDocx(blocks: Array<{ heading?: 1 | 2 | 3; text: string }>): Promise<Uint8Array> {
  const levels = { 1: HeadingLevel.HEADING_1, 2: HeadingLevel.HEADING_2, 3: HeadingLevel.HEADING_3 } as const;
  const doc = new Document({
    sections: [{ children: blocks.map((b) => new Paragraph(b.heading ? { text: b.text, heading: levels[b.heading] } : { text: b.text })) }],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

export async function makeXlsx(sheets: Array<{ name: string; rows: Array<Array<string | number>> }>): Promise<Uint8Array> {
  const workbook = new ExcelJS.Workbook();
  for (const sheet of sheets) workbook.addWorksheet(sheet.name).addRows(sheet.rows);
  return new Uint8Array(await workbook.xlsx.writeBuffer());
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export const MEDIA = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;

/**
 * A ZIP written by hand, so a test can make one that lies: `declaredSize` overrides the
 * uncompressed size written in the headers.
 */
export function makeZip(entries: Array<{ name: string; data: Uint8Array; declaredSize?: number }>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data);
    const crc = crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(compressed.length, 18); local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(compressed.length, 20); central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12); end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

/** `count` pages that all show one image of text (the image is embedded once): a scanned book. */
export async function makeLongScannedPdf(count: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const image = drawText(['HELLO WORLD']);
  const png = await doc.embedPng(encodePng(image));
  for (let i = 0; i < count; i++) {
    doc.addPage([image.width, image.height]).drawImage(png, { x: 0, y: 0, width: image.width, height: image.height });
  }
  return doc.save();
}

/**
 * Pages whose text is drawn as vector paths only: every dot of the bitmap font is a filled square
 * of one SVG path per line, so there is neither a text layer nor an image — only rendering the page
 * can read it (the way a PDF with text converted to outlines looks).
 */
export async function makeVectorTextPdf(pageLines: string[][], dot = 4): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  for (const lines of pageLines) {
    const page = doc.addPage([595, 842]);
    lines.forEach((line, row) => {
      let path = '';
      [...line.toUpperCase()].forEach((char, column) => {
        const glyph = GLYPHS[char];
        if (!glyph) throw new Error(`no glyph for ${char}`);
        glyph.forEach((bits, gy) => [...bits].forEach((bit, gx) => {
          if (bit === '1') path += `M ${(column * 6 + gx) * dot} ${gy * dot} h ${dot} v ${dot} h ${-dot} Z `;
        }));
      });
      // drawSvgPath puts the path's origin at (x, y) with y growing downwards, as SVG does.
      if (path) page.drawSvgPath(path, { x: 50, y: 780 - row * 11 * dot, color: rgb(0, 0, 0) });
    });
  }
  return doc.save();
}
