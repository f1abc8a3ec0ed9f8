import { sanitizeText } from '../../domain/text.ts';
import type { ExtractorContext, ExtractorResult } from './extractors/context.ts';
import type { OcrEngine } from './ocr.ts';
import { sniffType, type SniffedType } from './sniff.ts';
import { ExtractionFailedError, type ExtractedDocument, type ExtractionLimits, type ExtractionProgress } from './types.ts';
import { checkUncompressedSize } from './zip.ts';

/**
 * Sniff, extract, sanitise — in the current thread. Only the worker calls this: run it through
 * extractDocument (extract-in-worker.ts) so a hostile file cannot block or crash the process.
 * Each extractor is imported when its format comes up, so a worker loads only the libraries its
 * one file needs (PDF.js, exceljs and tesseract.js each take a noticeable time to load).
 */

function decode(bytes: Uint8Array, encoding: NonNullable<SniffedType['encoding']>): string {
  return new TextDecoder(encoding, { ignoreBOM: false }).decode(bytes);
}

function normaliseText(text: string): string {
  return sanitizeText(text).replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
}

async function extractSniffed(bytes: Uint8Array, type: SniffedType, context: ExtractorContext): Promise<ExtractorResult> {
  const maxText = context.limits.maxUncompressedBytes;
  switch (type.kind) {
    case 'pdf': return (await import('./extractors/pdf.ts')).extractPdf(bytes, context);
    case 'image': return (await import('./extractors/image.ts')).extractImage(bytes, context);
    case 'docx':
      checkUncompressedSize(bytes, type.zipEntries ?? [], context.limits.maxUncompressedBytes);
      return (await import('./extractors/docx.ts')).extractDocx(bytes, maxText);
    case 'xlsx':
      checkUncompressedSize(bytes, type.zipEntries ?? [], context.limits.maxUncompressedBytes);
      return (await import('./extractors/xlsx.ts')).extractXlsx(bytes, context);
    case 'csv': return (await import('./extractors/csv.ts')).extractCsv(decode(bytes, type.encoding ?? 'utf-8'));
    case 'html': return (await import('./extractors/html.ts')).extractHtml(decode(bytes, type.encoding ?? 'utf-8'), maxText);
    case 'markdown':
    case 'text':
      return { pages: [{ page: 1, text: decode(bytes, type.encoding ?? 'utf-8'), ocr: false }], paginated: false };
  }
}

export async function extractInThisThread(
  bytes: Uint8Array,
  declaredMediaType: string,
  fileName: string,
  limits: ExtractionLimits,
  onProgress: (progress: ExtractionProgress) => void = () => {},
): Promise<ExtractedDocument> {
  const type = sniffType(bytes, declaredMediaType, fileName);
  let engine: Promise<OcrEngine> | null = null;
  const context: ExtractorContext = {
    limits, onProgress,
    ocr: () => (engine ??= import('./ocr.ts').then(({ OcrEngine }) => OcrEngine.start())),
  };
  try {
    const result = await extractSniffed(bytes, type, context);
    const pages = result.pages.map((page) => ({ ...page, text: normaliseText(page.text) }));
    const characters = pages.reduce((sum, page) => sum + page.text.length, 0);
    if (characters === 0) {
      if (type.kind === 'text' || type.kind === 'markdown' || type.kind === 'csv' || type.kind === 'html') {
        throw new ExtractionFailedError('empty', 'The file holds no text.');
      }
      throw new ExtractionFailedError('no-text', type.kind === 'pdf'
        ? 'No text was found: the PDF has no text layer and OCR found no text in its images.'
        : 'No text was found in the file.');
    }
    if (type.kind !== 'pdf' && type.kind !== 'xlsx' && pages.length === 1) onProgress({ pagesDone: 1, pagesTotal: 1 });
    return { mediaType: type.mediaType, pages, characters, paginated: result.paginated };
  } finally {
    const started = await (engine as Promise<OcrEngine> | null)?.catch(() => null);
    await started?.close();
  }
}
