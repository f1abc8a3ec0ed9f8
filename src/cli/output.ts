/**
 * What a command prints: for people, lines and aligned tables; with --json, one JSON document per
 * command (`result`), or one JSON document per line for streams (`item`, NDJSON). bigints print as
 * decimal strings. Diagnostics go to stderr (`note`), so stdout stays parseable.
 */
export interface Output {
  readonly json: boolean;
  /** The command's one JSON document; `human` prints it for people. */
  result(value: unknown, human: () => void): void;
  /** One item of a stream: a JSON line, or `human`'s line. */
  item(value: unknown, human: () => string): void;
  line(text?: string): void;
  table(rows: ReadonlyArray<Record<string, unknown>>, columns?: readonly string[]): void;
  note(text: string): void;
}

export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), space);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return toJson(value);
}

export function createOutput(options: { json: () => boolean; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream }): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const write = (text: string) => stdout.write(`${text}\n`);
  const output: Output = {
    get json() {
      return options.json();
    },
    result(value, human) {
      if (output.json) write(toJson(value, 2));
      else human();
    },
    item(value, human) {
      write(output.json ? toJson(value) : human());
    },
    line(text = '') {
      write(text);
    },
    table(rows, columns) {
      const names = columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
      if (rows.length === 0) {
        write('(none)');
        return;
      }
      const cells = rows.map((row) => names.map((name) => cell(row[name]).replace(/\s+/g, ' ')));
      const widths = names.map((name, i) => Math.max(name.length, ...cells.map((r) => r[i]!.length)));
      const format = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
      write(format(names));
      for (const row of cells) write(format(row));
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
  };
  return output;
}
