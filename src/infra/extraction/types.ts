/** Shapes shared by the extractors, the worker and the chunker. */

export interface ExtractedPage {
  /** 1-based. */
  page: number;
  /** Markdown-flavoured plain text (headings as `#` lines); '' when the page has no text. */
  text: string;
  /** True when the text was read by OCR. */
  ocr: boolean;
}

export interface ExtractedDocument {
  /** The media type the bytes really are (after sniffing), e.g. application/pdf. */
  mediaType: string;
  pages: ExtractedPage[];
  /** Characters of text over all pages. */
  characters: number;
  /**
   * True when page numbers mean something to a reader (PDF pages, XLSX sheets, an image); false when
   * the format has no pages (DOCX, HTML, Markdown, CSV, text) and everything sits on page 1.
   */
  paginated: boolean;
}

export interface ExtractionLimits {
  /** PDF pages or XLSX sheets. */
  maxPages: number;
  /** Wall-clock time for one extraction, worker start included. */
  timeoutMs: number;
  /** V8 old-generation heap of the worker. */
  maxMemoryMb: number;
  /** Sum of the uncompressed sizes of a ZIP-based file (DOCX, XLSX), and the pixel budget of an image. */
  maxUncompressedBytes: number;
}

export interface ExtractionProgress {
  pagesDone: number;
  pagesTotal: number;
}

export type ExtractionFailureReason =
  | 'unsupported-type'
  | 'type-mismatch'
  | 'empty'
  | 'malformed'
  | 'too-many-pages'
  | 'timeout'
  | 'out-of-memory'
  | 'too-large-uncompressed'
  | 'no-text';

export const EXTRACTION_FAILURE_REASONS: readonly ExtractionFailureReason[] = [
  'unsupported-type', 'type-mismatch', 'empty', 'malformed', 'too-many-pages', 'timeout',
  'out-of-memory', 'too-large-uncompressed', 'no-text',
];

/** A file that cannot be turned into text. The message names the problem, never the document's content. */
export class ExtractionFailedError extends Error {
  readonly reason: ExtractionFailureReason;

  constructor(reason: ExtractionFailureReason, message: string) {
    super(message);
    this.name = 'ExtractionFailedError';
    this.reason = reason;
  }
}

export function isExtractionFailureReason(value: unknown): value is ExtractionFailureReason {
  return typeof value === 'string' && (EXTRACTION_FAILURE_REASONS as readonly string[]).includes(value);
}
