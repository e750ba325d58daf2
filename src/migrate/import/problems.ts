/**
 * The problem finder: every value PostgreSQL cannot hold exactly, found in MySQL (in the snapshot,
 * one scan per table) before anything is written, each with the UPDATE that fixes it on the MySQL
 * side. A problem names its table, key, column and what is wrong, never the rest of the row, and
 * never a string's content (it may be a password hash or a token): only dates and flags are shown.
 */
import mysql from 'mysql2';
import type { PlannedColumn, TablePlan } from './plan.js';
import { quoteMysql, type Source } from './source.js';

export interface RowProblem {
  table: string;
  /** `id=7`, `id='ord-1'`: the primary key. */
  key: string;
  column: string;
  wrong: string;
  /** The statement that fixes it in MySQL. */
  fix: string;
}

interface Check {
  /** True (1) for a row whose value cannot be carried. */
  predicate: string;
  /** The value to show (a date, a flag), or none when the value may be a secret. */
  shown?: string;
  wrong(shown: string | null): string;
  /** The SQL expression the column should be set to. */
  fix(shown: string | null): string;
}

const UTF8 = new Set(['utf8', 'utf8mb3', 'utf8mb4']);

function checksOf(column: PlannedColumn): Check[] {
  const c = quoteMysql(column.name);
  switch (column.kind) {
    case 'datetime':
    case 'timestamptz':
    case 'date':
      return [
        {
          predicate: `CAST(${c} AS CHAR) LIKE '0000-00-00%'`,
          wrong: () => 'a zero date (0000-00-00), which PostgreSQL cannot hold',
          fix: () => (column.mysql.nullable ? 'NULL' : "'1970-01-01 00:00:00' /* or the real date */"),
        },
        {
          predicate: `CAST(${c} AS CHAR) NOT LIKE '0000-00-00%' AND (YEAR(${c}) = 0 OR MONTH(${c}) = 0 OR DAYOFMONTH(${c}) = 0 OR DAYOFMONTH(${c}) > DAYOFMONTH(LAST_DAY(DATE_FORMAT(${c}, '%Y-%m-01'))))`,
          shown: `CAST(${c} AS CHAR)`,
          wrong: (value) => `an impossible date (${value}), which PostgreSQL cannot hold`,
          fix: (value) => `'${possibleDate(value ?? '')}' /* or the real date */`,
        },
      ];
    case 'text':
    case 'json': {
      const charset = column.mysql.charset ?? 'utf8mb4';
      const checks: Check[] = [];
      // JSON text holds no raw control character (MySQL's binary JSON and MariaDB's json_valid see to it): only its \u0000 escape
      if (column.kind === 'text')
        checks.push({
          predicate: `LOCATE(X'00', CAST(${c} AS BINARY)) > 0`,
          wrong: () => 'a NUL byte, which a PostgreSQL string cannot hold',
          fix: () => `REPLACE(${c}, CHAR(0), '')`,
        });
      // a utf8/utf8mb4 column holds valid UTF-8: MySQL and MariaDB check every value written into it
      // (invalid bytes are refused, or replaced by '?' under a lax sql_mode); another charset's text
      // must have a UTF-8 form
      if (!UTF8.has(charset))
        checks.push({
          predicate: `CAST(CONVERT(CONVERT(${c} USING utf8mb4) USING ${charset}) AS BINARY) <> CAST(${c} AS BINARY)`,
          wrong: () => `characters that have no UTF-8 form (the column's charset is ${charset})`,
          fix: () => `CONVERT(CONVERT(${c} USING utf8mb4) USING ${charset}) /* unmapped characters become '?': or the real text */`,
        });
      if (column.kind === 'json')
        checks.push({
          predicate: `LOCATE('\\\\u0000', CAST(${c} AS CHAR)) > 0`,
          wrong: () => 'a JSON string holding \\u0000, which PostgreSQL jsonb cannot hold',
          fix: () => `REPLACE(${c}, '\\\\u0000', '')`,
        });
      return checks;
    }
    case 'boolean':
      return [
        {
          predicate: `${c} NOT IN (0, 1)`,
          shown: `CAST(${c} AS CHAR)`,
          wrong: (value) => `${value} in a BOOLEAN (TINYINT(1)), which PostgreSQL's boolean cannot hold (only true and false)`,
          fix: () => '1 /* the old back office read any non-zero value as true */',
        },
      ];
    default:
      return [];
  }
}

/** The nearest possible date of the same month: day 0 → 1, day 31 of a 30-day month → 30, month 0 → 1, year 0 → 1. */
function possibleDate(text: string): string {
  const [, y = '1', m = '1', d = '1', rest = ''] = /^(\d+)-(\d+)-(\d+)(.*)$/.exec(text) ?? [];
  const year = Math.max(Number(y), 1);
  const month = Math.min(Math.max(Number(m), 1), 12);
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(Math.max(Number(d), 1), last);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}${rest}`;
}

/** Every uncarriable value of every table, in one scan per table (only tables with columns to check). */
export async function findProblems(source: Source, plans: TablePlan[]): Promise<RowProblem[]> {
  const problems: RowProblem[] = [];
  for (const plan of plans) {
    const checks = plan.columns.flatMap((column) => checksOf(column).map((check) => ({ column, check })));
    if (checks.length === 0) continue;
    const key = plan.source.primaryKey;
    const select = [
      ...key.map((k, i) => `${quoteMysql(k)} AS k${i}`),
      ...checks.map(({ check }, i) => `(${check.predicate}) AS p${i}`),
      ...checks.map(({ check }, i) => `${check.shown ?? 'NULL'} AS v${i}`),
    ];
    const rows = await source.query<Record<string, string | number | null>>(
      `SELECT ${select.join(', ')} FROM ${quoteMysql(plan.source.name)} WHERE ${checks.map(({ check }) => `(${check.predicate})`).join(' OR ')}`,
    );
    for (const row of rows) {
      const keyValues = key.map((k, i) => ({ column: k, value: row[`k${i}`] }));
      checks.forEach(({ column, check }, i) => {
        if (Number(row[`p${i}`]) !== 1) return;
        const shown = row[`v${i}`] === null ? null : String(row[`v${i}`]);
        const where = keyValues.length
          ? keyValues.map((k) => `${quoteMysql(k.column)} = ${mysql.escape(k.value)}`).join(' AND ')
          : check.predicate;
        problems.push({
          table: plan.source.name,
          key: keyValues.length ? keyValues.map((k) => `${k.column}=${mysql.escape(k.value)}`).join(', ') : '(no primary key)',
          column: column.name,
          wrong: check.wrong(shown),
          fix: `UPDATE ${quoteMysql(plan.source.name)} SET ${quoteMysql(column.name)} = ${check.fix(shown)} WHERE ${where};`,
        });
      });
    }
  }
  return problems;
}
