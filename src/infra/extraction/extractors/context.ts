import type { OcrEngine } from '../ocr.ts';
import type { ExtractedPage, ExtractionLimits, ExtractionProgress } from '../types.ts';

export interface ExtractorContext {
  limits: ExtractionLimits;
  onProgress(progress: ExtractionProgress): void;
  /** The OCR engine, started on first use (it costs a second or so). */
  ocr(): Promise<OcrEngine>;
}

export interface ExtractorResult {
  pages: ExtractedPage[];
  paginated: boolean;
}
