import { ExtractionFailedError } from '../types.ts';
import type { ExtractorContext, ExtractorResult } from './context.ts';

/** Width × height from the header, for the formats whose header is simple; null when unknown. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0x89 && bytes.length >= 24) return { width: view.getUint32(16), height: view.getUint32(20) };
  if (bytes[0] === 0x42 && bytes[1] === 0x4d && bytes.length >= 26) return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let at = 2; at + 9 < bytes.length;) {
      if (bytes[at] !== 0xff) return null;
      const marker = bytes[at + 1]!;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
      }
      at += 2 + view.getUint16(at + 2);
    }
  }
  return null;
}

/** An image read by OCR, as one page. */
export async function extractImage(bytes: Uint8Array, context: ExtractorContext): Promise<ExtractorResult> {
  const size = imageDimensions(bytes);
  if (size && size.width * size.height * 4 > context.limits.maxUncompressedBytes) {
    throw new ExtractionFailedError('too-large-uncompressed', `The image is ${size.width}×${size.height} pixels, more than the limit for uncompressed content.`);
  }
  const engine = await context.ocr();
  let text: string;
  try {
    text = (await engine.recognize(bytes)).trim();
  } catch {
    throw new ExtractionFailedError('malformed', 'The image could not be decoded.');
  }
  context.onProgress({ pagesDone: 1, pagesTotal: 1 });
  return { pages: [{ page: 1, text, ocr: true }], paginated: true };
}
