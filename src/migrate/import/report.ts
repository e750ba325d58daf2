/** What the import prints: the problems with their fixes, the progress line, the per-table proof. */
import type { StructuralProblem } from './plan.js';
import type { RowProblem } from './problems.js';

export interface TableResult {
  source: string;
  target: string;
  mysqlRows: number;
  postgresRows: number;
  verifiedRows: number;
}

export function formatProblems(structural: StructuralProblem[], rows: RowProblem[]): string {
  const lines: string[] = [];
  if (structural.length) {
    lines.push(`${structural.length} thing(s) in the source that cannot be carried as they are:`);
    for (const p of structural) lines.push(`  ${p.table}: ${p.problem}`);
  }
  if (rows.length) {
    lines.push(
      `${rows.length} value(s) PostgreSQL cannot hold exactly (a line per row and column; fix them in MySQL, then run the import again):`,
    );
    for (const p of rows) lines.push(`  ${p.table} ${p.key} ${p.column}: ${p.wrong}\n    fix: ${p.fix}`);
  }
  return lines.join('\n');
}

export function formatResults(results: TableResult[]): string {
  const width = Math.max(5, ...results.map((r) => (r.source === r.target ? r.source : `${r.source} -> ${r.target}`).length));
  const head = `${'table'.padEnd(width)}  ${'rows in MySQL'.padStart(13)}  ${'rows in PostgreSQL'.padStart(18)}  ${'rows verified'.padStart(13)}`;
  const lines = results.map((r) => {
    const name = r.source === r.target ? r.source : `${r.source} -> ${r.target}`;
    return `${name.padEnd(width)}  ${String(r.mysqlRows).padStart(13)}  ${String(r.postgresRows).padStart(18)}  ${String(r.verifiedRows).padStart(13)}`;
  });
  return [head, ...lines].join('\n');
}

const duration = (seconds: number) =>
  !Number.isFinite(seconds)
    ? '?'
    : seconds < 60
      ? `${Math.ceil(seconds)} s`
      : `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;

/** A progress line every few seconds while rows are copied; nothing for a copy shorter than that. */
export class Progress {
  private started = Date.now();
  private lastPrinted = Date.now();
  private done = 0;

  constructor(
    private readonly totalRows: number,
    private readonly print: (line: string) => void,
    private readonly everyMs = 5000,
  ) {}

  add(table: string, tableRows: number, tableTotal: number) {
    this.done++;
    const now = Date.now();
    if (now - this.lastPrinted < this.everyMs) return;
    this.lastPrinted = now;
    const rate = this.done / ((now - this.started) / 1000);
    this.print(
      `copying ${table}: ${tableRows}/${tableTotal} rows; all tables ${this.done}/${this.totalRows} rows, ${Math.round(rate)} rows/s, ${duration((this.totalRows - this.done) / rate)} left`,
    );
  }
}
