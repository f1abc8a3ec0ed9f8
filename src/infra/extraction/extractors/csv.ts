import Papa from 'papaparse';
import { ExtractionFailedError } from '../types.ts';
import type { ExtractorResult } from './context.ts';
import { markdownTable } from './table.ts';

/** CSV (delimiter detected by papaparse) as one Markdown table. */
export function extractCsv(text: string): ExtractorResult {
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: 'greedy' });
  const rows = parsed.data.filter((row): row is string[] => Array.isArray(row)).map((row) => row.map((value) => String(value ?? '')));
  if (rows.length === 0 && parsed.errors.length > 0) throw new ExtractionFailedError('malformed', 'The CSV file could not be parsed.');
  return { pages: [{ page: 1, text: markdownTable(rows), ocr: false }], paginated: false };
}
