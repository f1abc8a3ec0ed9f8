import { inflateRawSync } from 'node:zlib';
import { ExtractionFailedError } from './types.ts';

/**
 * Just enough of the ZIP format to tell a DOCX from an XLSX and to stop a zip bomb before mammoth or
 * exceljs inflate it: the central directory, and each entry inflated once with a hard output cap
 * (node:zlib's maxOutputLength), because the sizes an archive declares can lie.
 */

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_ENTRIES = 20_000;

function malformed(detail: string): ExtractionFailedError {
  return new ExtractionFailedError('malformed', `The file is not a readable ZIP archive (${detail}).`);
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** The entries of the central directory; throws `malformed` when it cannot be read. */
export function readZipEntries(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE) { eocd = at; break; }
  }
  if (eocd < 0) throw malformed('no end of central directory');
  const count = view.getUint16(eocd + 10, true);
  const directorySize = view.getUint32(eocd + 12, true);
  const directoryOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || directoryOffset === 0xffffffff) throw malformed('ZIP64 archives are not supported');
  if (count > MAX_ENTRIES) throw malformed(`more than ${MAX_ENTRIES} entries`);
  if (directoryOffset + directorySize > eocd) throw malformed('central directory out of bounds');
  const entries: ZipEntry[] = [];
  let at = directoryOffset;
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== CENTRAL_SIGNATURE) throw malformed('broken central directory');
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    if (at + 46 + nameLength > eocd) throw malformed('broken central directory');
    entries.push({
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      uncompressedSize: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
      name: decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function entryData(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_SIGNATURE) throw malformed('broken local header');
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw malformed('entry out of bounds');
  return bytes.subarray(start, end);
}

/**
 * Throws `too-large-uncompressed` when the entries would inflate to more than `maxBytes` in total,
 * measured by inflating (and discarding) each one under a cap — declared sizes alone prove nothing.
 */
export function checkUncompressedSize(bytes: Uint8Array, entries: ZipEntry[], maxBytes: number): void {
  const tooLarge = () => new ExtractionFailedError('too-large-uncompressed',
    `The archive would expand to more than ${maxBytes} bytes, the limit for uncompressed content.`);
  const declared = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
  if (declared > maxBytes) throw tooLarge();
  let total = 0;
  for (const entry of entries) {
    if (entry.name.endsWith('/')) continue;
    const data = entryData(bytes, entry);
    const budget = maxBytes - total;
    let size: number;
    if (entry.method === 0) {
      size = data.length;
    } else if (entry.method === 8) {
      try {
        size = inflateRawSync(data, { maxOutputLength: Math.max(1, budget) }).length;
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw tooLarge();
        throw malformed('an entry does not inflate');
      }
    } else {
      throw malformed(`compression method ${entry.method} is not supported`);
    }
    total += size;
    if (total > maxBytes) throw tooLarge();
  }
}
