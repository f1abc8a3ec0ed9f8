import { isZip, readZipEntries, type ZipEntry } from './zip.ts';
import { ExtractionFailedError } from './types.ts';

/**
 * What a file really is, from its bytes: magic numbers for the binary formats, the ZIP entries for
 * DOCX/XLSX, and for text the declared type or the file extension (text carries no magic number).
 * A declared media type that contradicts the bytes is refused as `type-mismatch`.
 */

export type DocumentKind = 'pdf' | 'docx' | 'xlsx' | 'image' | 'csv' | 'html' | 'markdown' | 'text';

export interface SniffedType {
  kind: DocumentKind;
  mediaType: string;
  /** For DOCX/XLSX: the central directory, read once. */
  zipEntries?: ZipEntry[];
  /** For text kinds: the character encoding the bytes decode with. */
  encoding?: 'utf-8' | 'utf-16le' | 'utf-16be';
}

export const MEDIA_TYPES = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv',
  html: 'text/html',
  markdown: 'text/markdown',
  text: 'text/plain',
} as const;

const IMAGE_ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'image/x-png': 'image/png',
  'image/x-ms-bmp': 'image/bmp', 'image/x-bmp': 'image/bmp', 'image/tif': 'image/tiff',
};
const GENERIC = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);
const TEXT_DECLARED: Record<string, DocumentKind | null> = {
  'text/plain': null, 'text/csv': 'csv', 'application/csv': 'csv', 'text/comma-separated-values': 'csv',
  'text/html': 'html', 'application/xhtml+xml': 'html', 'text/markdown': 'markdown', 'text/x-markdown': 'markdown',
};
const EXTENSIONS: Record<string, DocumentKind> = {
  csv: 'csv', html: 'html', htm: 'html', xhtml: 'html', md: 'markdown', markdown: 'markdown', txt: 'text', text: 'text',
};
const NAMES: Record<DocumentKind, string> = {
  pdf: 'a PDF', docx: 'a Word document (DOCX)', xlsx: 'an Excel workbook (XLSX)', image: 'an image',
  csv: 'CSV text', html: 'HTML text', markdown: 'Markdown text', text: 'text',
};

function normalise(declared: string): string {
  const base = (declared.split(';')[0] ?? '').trim().toLowerCase();
  return IMAGE_ALIASES[base] ?? (base === 'application/x-pdf' ? MEDIA_TYPES.pdf : base);
}

function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? '' : fileName.slice(dot + 1).toLowerCase();
}

function startsWith(bytes: Uint8Array, prefix: number[], at = 0): boolean {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

function imageType(bytes: Uint8Array): string | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'image/tiff';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  if (startsWith(bytes, [0x42, 0x4d]) && bytes.length >= 26) return 'image/bmp';
  return null;
}

function isPdf(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  const at = head.indexOf('%PDF-');
  if (at < 0) return false;
  // Readers accept the header after a little binary garbage within the first KiB; a text file that
  // merely mentions "%PDF-" near its top is still text.
  return head.slice(0, at).trim() === '' || textEncoding(bytes) === null;
}

function textEncoding(bytes: Uint8Array): SniffedType['encoding'] | null {
  if (startsWith(bytes, [0xff, 0xfe])) return 'utf-16le';
  if (startsWith(bytes, [0xfe, 0xff])) return 'utf-16be';
  const sample = bytes.subarray(0, 64 * 1024);
  if (sample.includes(0)) return null;
  try {
    // A sample may end inside a multi-byte character: decode in streaming mode so that is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: sample.length < bytes.length });
    return 'utf-8';
  } catch {
    return null;
  }
}

function looksLikeHtml(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 512)).toString('utf8').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

function mismatch(declared: string, actual: DocumentKind): ExtractionFailedError {
  return new ExtractionFailedError('type-mismatch',
    `The file was declared as ${declared || 'an unknown type'} but its content is ${NAMES[actual]}.`);
}

function officeKind(entries: ZipEntry[]): 'docx' | 'xlsx' | null {
  const names = new Set(entries.map((e) => e.name));
  if (names.has('word/document.xml')) return 'docx';
  if (names.has('xl/workbook.xml')) return 'xlsx';
  return null;
}

export function sniffType(bytes: Uint8Array, declaredMediaType: string, fileName: string): SniffedType {
  if (bytes.length === 0) throw new ExtractionFailedError('empty', 'The file is empty.');
  const declared = normalise(declaredMediaType);
  const generic = GENERIC.has(declared);

  if (isPdf(bytes)) {
    if (!generic && declared !== MEDIA_TYPES.pdf) throw mismatch(declared, 'pdf');
    return { kind: 'pdf', mediaType: MEDIA_TYPES.pdf };
  }

  const image = imageType(bytes);
  if (image) {
    if (!generic && declared !== image) throw mismatch(declared, 'image');
    return { kind: 'image', mediaType: image };
  }

  if (isZip(bytes)) {
    const entries = readZipEntries(bytes);
    const kind = officeKind(entries);
    const expected = declared === MEDIA_TYPES.docx ? 'docx' : declared === MEDIA_TYPES.xlsx ? 'xlsx' : null;
    if (kind === null) {
      if (expected) throw new ExtractionFailedError('malformed', `The file is a ZIP archive but not a readable ${expected.toUpperCase()} file.`);
      throw new ExtractionFailedError('unsupported-type', 'ZIP archives other than DOCX and XLSX are not supported.');
    }
    if (!generic && expected !== kind) throw mismatch(declared, kind);
    return { kind, mediaType: MEDIA_TYPES[kind], zipEntries: entries };
  }

  const encoding = textEncoding(bytes);
  if (encoding === null) {
    if (declared === MEDIA_TYPES.pdf || declared === MEDIA_TYPES.docx || declared === MEDIA_TYPES.xlsx || declared.startsWith('image/')) {
      throw new ExtractionFailedError('malformed', `The file was declared as ${declared} but its content is not in that format.`);
    }
    throw new ExtractionFailedError('unsupported-type', 'The file is neither a supported document format nor text.');
  }
  if (declared === MEDIA_TYPES.pdf || declared === MEDIA_TYPES.docx || declared === MEDIA_TYPES.xlsx || declared.startsWith('image/')) {
    throw mismatch(declared, 'text');
  }
  let kind: DocumentKind;
  if (declared in TEXT_DECLARED && TEXT_DECLARED[declared]) {
    kind = TEXT_DECLARED[declared]!;
  } else if (generic || declared === 'text/plain' || declared.startsWith('text/')) {
    kind = EXTENSIONS[extensionOf(fileName)] ?? (looksLikeHtml(bytes) ? 'html' : 'text');
  } else {
    throw new ExtractionFailedError('unsupported-type', `Files of type ${declared} are not supported.`);
  }
  return { kind, mediaType: MEDIA_TYPES[kind as keyof typeof MEDIA_TYPES], encoding };
}
