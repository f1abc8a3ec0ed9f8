/** Rows of cells as a Markdown table, the first row as its header. */
function cell(value: string): string {
  return value.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|').trim();
}

export function markdownTable(rows: string[][]): string {
  const nonEmpty = rows.filter((row) => row.some((value) => value.trim() !== ''));
  if (nonEmpty.length === 0) return '';
  const width = Math.max(...nonEmpty.map((row) => row.length));
  const line = (row: string[]) => `| ${Array.from({ length: width }, (_, i) => cell(row[i] ?? '')).join(' | ')} |`;
  const [header, ...body] = nonEmpty;
  return [line(header!), `|${' --- |'.repeat(width)}`, ...body.map(line)].join('\n');
}
