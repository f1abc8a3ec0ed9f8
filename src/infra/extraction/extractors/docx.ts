import mammoth from 'mammoth';
import { ExtractionFailedError } from '../types.ts';
import type { ExtractorResult } from './context.ts';
import { htmlToMarkdownText } from './html.ts';

/** DOCX through mammoth's semantic HTML (headings survive as h1…h6), then to `#` text. */
export async function extractDocx(bytes: Uint8Array, maxInputLength: number): Promise<ExtractorResult> {
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) })).value;
  } catch {
    throw new ExtractionFailedError('malformed', 'The Word document could not be read (it is damaged or not a valid DOCX).');
  }
  return { pages: [{ page: 1, text: htmlToMarkdownText(html, maxInputLength), ocr: false }], paginated: false };
}
