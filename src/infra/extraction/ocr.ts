import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Tesseract from 'tesseract.js';

type TesseractWorker = Tesseract.Worker;

/**
 * OCR with tesseract.js, fully offline: the LSTM language data comes from the @tesseract.js-data
 * packages in node_modules and the cache is off, so nothing is fetched or written beside the process.
 * tesseract.js reads every language from one folder, and the packages keep one folder each, so the
 * files are linked into a private temporary folder for the life of the engine.
 */

const require = createRequire(import.meta.url);
export const OCR_LANGUAGES = ['eng', 'deu'] as const;

function languageFile(code: string): string {
  return join(dirname(require.resolve(`@tesseract.js-data/${code}`)), '4.0.0_best_int', `${code}.traineddata.gz`);
}

export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** A PGM (grey) or PPM (colour) file of raw pixels: a format Leptonica reads without any codec. */
export function encodePnm(image: RawImage): Buffer {
  const colour = image.channels !== 1;
  const header = Buffer.from(`${colour ? 'P6' : 'P5'}\n${image.width} ${image.height}\n255\n`, 'latin1');
  if (image.channels !== 4) return Buffer.concat([header, Buffer.from(image.data.buffer, image.data.byteOffset, image.width * image.height * image.channels)]);
  const rgb = Buffer.alloc(image.width * image.height * 3);
  for (let i = 0, o = 0; o < rgb.length; i += 4, o += 3) {
    rgb[o] = image.data[i]!; rgb[o + 1] = image.data[i + 1]!; rgb[o + 2] = image.data[i + 2]!;
  }
  return Buffer.concat([header, rgb]);
}

export class OcrEngine {
  readonly #worker: TesseractWorker;
  readonly #languageDir: string;

  private constructor(worker: TesseractWorker, languageDir: string) {
    this.#worker = worker;
    this.#languageDir = languageDir;
  }

  static async start(): Promise<OcrEngine> {
    const languageDir = mkdtempSync(join(tmpdir(), 'evident-ocr-'));
    try {
      for (const code of OCR_LANGUAGES) symlinkSync(languageFile(code), join(languageDir, `${code}.traineddata.gz`));
      const worker = await Tesseract.createWorker(OCR_LANGUAGES.join('+'), Tesseract.OEM.LSTM_ONLY, {
        langPath: languageDir, cacheMethod: 'none', gzip: true, logger: () => {}, errorHandler: () => {},
      });
      return new OcrEngine(worker, languageDir);
    } catch (error) {
      rmSync(languageDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Text of an encoded image (PNG, JPEG, TIFF, WebP, BMP, PNM). */
  async recognize(image: Uint8Array): Promise<string> {
    const result = await this.#worker.recognize(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
    return result.data.text;
  }

  async close(): Promise<void> {
    try {
      await this.#worker.terminate();
    } finally {
      rmSync(this.#languageDir, { recursive: true, force: true });
    }
  }
}
