/**
 * Rendering: `--output table` (default, for people: kubectl-style columns, UPPERCASE
 * headers, `-` for empty) or `--output json` (for scripts: exactly one JSON document on
 * stdout per command). Progress and prompts go to stderr so stdout stays parseable.
 */

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => unknown;
}

/** One cell as text: null/undefined as `-`, lists comma-separated, no line breaks. */
export function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(cell).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/\s*\n\s*/g, ' ');
}

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const grid = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => line[i].length)));
  return grid
    .map((line) =>
      line
        .map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i])))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** `Label:   value` lines, aligned. */
export function keyValues(pairs: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${cell(v)}`).join('\n');
}

export function isoTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return null;
  return new Date(ms).toISOString();
}

export class Output {
  constructor(
    readonly format: OutputFormat,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  get json(): boolean {
    return this.format === 'json';
  }

  /** Human text on stdout (table mode only). */
  text(s: string): void {
    if (!this.json) this.out.write(s.endsWith('\n') ? s : `${s}\n`);
  }

  /** The one JSON document of a command (json mode only). */
  document(value: unknown): void {
    if (this.json) this.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Either the JSON document or the human rendering. */
  emit(value: unknown, human: () => string): void {
    if (this.json) this.document(value);
    else this.text(human());
  }

  /** Notes, progress and prompts: stderr, in both modes. */
  note(s: string): void {
    this.err.write(s.endsWith('\n') ? s : `${s}\n`);
  }
}
