/** Small helpers shared by the benchmarks: medians over repeated runs and a plain table. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value below which p percent of `values` lie (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `work` `runs` times; each run returns how many operations it did. Returns the median rate per second. */
export async function medianRate(runs: number, work: () => Promise<number>): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const operations = await work();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(operations / seconds);
  }
  return median(rates);
}

export interface Row {
  benchmark: string;
  rate: number;
  unit: string;
  baseline: string;
  baselineRate: number;
}

export function printRows(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`);
  const lines = rows.map((r) => [
    r.benchmark,
    `${Math.round(r.rate).toLocaleString('en')} ${r.unit}`,
    `${(r.rate / r.baselineRate).toFixed(2)}x of ${r.baseline} (${Math.round(r.baselineRate).toLocaleString('en')}/s)`,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const line of lines) console.log(line.map((cell, i) => cell.padEnd(widths[i]!)).join('  |  '));
}
