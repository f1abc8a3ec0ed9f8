import { PDFDocument, StandardFonts } from 'pdf-lib';
import { extractText } from 'unpdf';
import { chunkDocument } from '../src/infra/extraction/chunker.ts';
import { extractDocument } from '../src/infra/extraction/extract-in-worker.ts';
import { medianRate, printRows } from './measure.ts';

const PAGES = 100;
const LIMITS = { maxPages: 1_000, timeoutMs: 600_000, maxMemoryMb: 512, maxUncompressedBytes: 256 * 1024 * 1024 };

/** A 100-page report: a chapter heading every ten pages, forty lines of body text per page. */
async function reportPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < PAGES; p++) {
    const page = doc.addPage([595, 842]);
    let y = 800;
    if (p % 10 === 0) { page.drawText(`Chapter ${p / 10 + 1}: findings of part ${p / 10 + 1}`, { x: 50, y, font, size: 20 }); y -= 36; }
    for (let line = 0; y > 40; line++, y -= 15) {
      page.drawText(`Line ${line} of page ${p + 1} reports measurement ${(p * 41 + line * 7) % 997} for sample ${line % 13}.`, { x: 50, y, font, size: 11 });
    }
  }
  return doc.save();
}

export async function benchIngestion(sizes: { runs: number }): Promise<void> {
  const bytes = await reportPdf();
  const ingest = await medianRate(sizes.runs, async () => {
    const doc = await extractDocument(bytes, 'application/pdf', 'report.pdf', LIMITS);
    const chunks = await chunkDocument(doc);
    if (chunks.length === 0) throw new Error('no chunks');
    return doc.pages.length;
  });
  const extractOnly = await medianRate(sizes.runs, async () => (await extractDocument(bytes, 'application/pdf', 'report.pdf', LIMITS)).pages.length);
  const baseline = await medianRate(sizes.runs, async () => (await extractText(new Uint8Array(bytes))).totalPages);
  printRows(`Ingestion (${PAGES}-page generated PDF)`, [
    { benchmark: 'extractDocument + chunkDocument', rate: ingest, unit: 'pages/s', baseline: 'unpdf extractText in the main thread', baselineRate: baseline },
    { benchmark: 'extractDocument (worker, sniff, headings)', rate: extractOnly, unit: 'pages/s', baseline: 'unpdf extractText in the main thread', baselineRate: baseline },
  ]);
}
