import ExcelJS from 'exceljs';
import { ExtractionFailedError, type ExtractedPage } from '../types.ts';
import type { ExtractorContext, ExtractorResult } from './context.ts';
import { markdownTable } from './table.ts';

/** XLSX with exceljs: one page per worksheet, headed `# <sheet name>`, its rows as a Markdown table. */
export async function extractXlsx(bytes: Uint8Array, context: ExtractorContext): Promise<ExtractorResult> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as ArrayBuffer);
  } catch {
    throw new ExtractionFailedError('malformed', 'The Excel workbook could not be read (it is damaged or not a valid XLSX).');
  }
  const sheets = workbook.worksheets;
  if (sheets.length > context.limits.maxPages) {
    throw new ExtractionFailedError('too-many-pages', `The workbook has ${sheets.length} sheets; the limit is ${context.limits.maxPages}.`);
  }
  const pages: ExtractedPage[] = [];
  sheets.forEach((sheet, i) => {
    const rows: string[][] = [];
    sheet.eachRow({ includeEmpty: false }, (row) => {
      const values: string[] = [];
      row.eachCell({ includeEmpty: true }, (cell, column) => { values[column - 1] = cell.text ?? ''; });
      rows.push(Array.from(values, (value) => value ?? ''));
    });
    const table = markdownTable(rows);
    pages.push({ page: i + 1, text: table ? `# ${sheet.name.trim()}\n\n${table}` : '', ocr: false });
    context.onProgress({ pagesDone: i + 1, pagesTotal: sheets.length });
  });
  return { pages, paginated: true };
}
