/**
 * The problem finder: every value PostgreSQL cannot hold exactly, found in MySQL (in the snapshot,
 * one scan per table) before anything is written, each with the UPDATE that fixes it on the MySQL
 * side. A problem names its table, key, column and what is wrong, never the rest of the row, and
 * never a string's content (it may be a password hash or a token): only dates and flags are shown.
 */
import mysql from 'mysql2';
import type { PlannedColumn, TablePlan } from './plan.js';
import { quoteMysql, type Source } from './source.js';
import type { SourceValue } from './types.js';

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
  /** What is wrong with a value as mysql2 read it, or undefined when it can be carried. */
  wrong(value: SourceValue): string | undefined;
  /** The SQL expression the column should be set to. */
  fix(value: SourceValue): string;
}

/** A check that only MySQL can make: a row is named when `predicate` holds (the value is not read). */
interface SqlCheck {
  predicate: string;
  wrong: string;
  fix: string;
}

const UTF8 = new Set(['utf8', 'utf8mb3', 'utf8mb4']);
const DATE = /^(\d{4})-(\d{2})-(\d{2})(.*)$/;

function impossibleDate(text: string): boolean {
  const [, y, m, d] = DATE.exec(text) ?? [];
  const [year, month, day] = [Number(y), Number(m), Number(d)];
  return year === 0 || month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether a parsed JSON value holds U+0000 in a string or a key (jsonb refuses the \u0000 escape). */
function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v));
  return false;
}

function checksOf(column: PlannedColumn): Check[] {
  const c = quoteMysql(column.name);
  switch (column.kind) {
    case 'datetime':
    case 'timestamptz':
    case 'date':
      return [
        {
          wrong: (value) =>
            value === null
              ? undefined
              : String(value).startsWith('0000-00-00')
                ? 'a zero date (0000-00-00), which PostgreSQL cannot hold'
                : impossibleDate(String(value))
                  ? `an impossible date (${String(value)}), which PostgreSQL cannot hold`
                  : undefined,
          fix: (value) =>
            String(value).startsWith('0000-00-00')
              ? column.mysql.nullable
                ? 'NULL'
                : "'1970-01-01 00:00:00' /* or the real date */"
              : `'${possibleDate(String(value))}' /* or the real date */`,
        },
      ];
    case 'text':
      return [
        {
          wrong: (value) =>
            typeof value === 'string' && value.includes('\u0000') ? 'a NUL byte, which a PostgreSQL string cannot hold' : undefined,
          fix: () => `REPLACE(${c}, CHAR(0), '')`,
        },
      ];
    case 'json':
      // JSON text holds no raw control character (MySQL's binary JSON and MariaDB's json_valid see to it): only the \u0000 escape
      return [
        {
          wrong: (value) =>
            typeof value === 'string' && value.includes('u0000') && holdsNul(JSON.parse(value))
              ? 'a JSON string holding \\u0000, which PostgreSQL jsonb cannot hold'
              : undefined,
          fix: () => `REPLACE(${c}, '\\\\u0000', '')`,
        },
      ];
    case 'boolean':
      return [
        {
          wrong: (value) =>
            value === null || Number(value) === 0 || Number(value) === 1
              ? undefined
              : `${String(value)} in a BOOLEAN (TINYINT(1)), which PostgreSQL's boolean cannot hold (only true and false)`,
          fix: () => '1 /* the old back office read any non-zero value as true */',
        },
      ];
    default:
      return [];
  }
}

/**
 * A utf8/utf8mb4 column holds valid UTF-8: MySQL and MariaDB check every value written into it
 * (invalid bytes are refused, or replaced by '?' under a lax sql_mode). Text in another charset must
 * have a UTF-8 form; only MySQL can tell (it sends '?' for a character that has none).
 */
function sqlChecksOf(column: PlannedColumn): SqlCheck[] {
  const charset = column.mysql.charset;
  if ((column.kind !== 'text' && column.kind !== 'json') || !charset || UTF8.has(charset)) return [];
  const c = quoteMysql(column.name);
  return [
    {
      predicate: `CAST(CONVERT(CONVERT(${c} USING utf8mb4) USING ${charset}) AS BINARY) <> CAST(${c} AS BINARY)`,
      wrong: `characters that have no UTF-8 form (the column's charset is ${charset})`,
      fix: `CONVERT(CONVERT(${c} USING utf8mb4) USING ${charset}) /* unmapped characters become '?': or the real text */`,
    },
  ];
}

/** The nearest possible date of the same month: day 0 → 1, day 31 of a 30-day month → 30, month 0 → 1, year 0 → 1. */
function possibleDate(text: string): string {
  const [, y = '1', m = '1', d = '1', rest = ''] = DATE.exec(text) ?? [];
  const year = Math.max(Number(y), 1);
  const month = Math.min(Math.max(Number(m), 1), 12);
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(Math.max(Number(d), 1), last);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}${rest}`;
}

const keyText = (key: { column: string; value: SourceValue }[]) => key.map((k) => `${k.column}=${mysql.escape(k.value)}`).join(', ');
const keyWhere = (key: { column: string; value: SourceValue }[]) =>
  key.map((k) => `${quoteMysql(k.column)} = ${mysql.escape(k.value)}`).join(' AND ');

/**
 * Every uncarriable value of every table: the rows read once (in the snapshot, only the key and the
 * columns to check) and checked here, before anything is written.
 */
export async function findProblems(source: Source, plans: TablePlan[]): Promise<RowProblem[]> {
  const problems: RowProblem[] = [];
  for (const plan of plans) {
    const key = plan.source.primaryKey;
    const checked = plan.columns.map((column) => ({ column, checks: checksOf(column) })).filter((c) => c.checks.length);
    if (checked.length) {
      const columns = [...key, ...checked.map((c) => c.column.name)];
      for await (const row of source.select(plan.source.name, columns)) {
        checked.forEach(({ column, checks }, i) => {
          const value = (row as SourceValue[])[key.length + i] ?? null;
          for (const check of checks) {
            const wrong = check.wrong(value);
            if (!wrong) continue;
            const keyValues = key.map((k, j) => ({ column: k, value: (row as SourceValue[])[j] ?? null }));
            problems.push({
              table: plan.source.name,
              key: keyValues.length ? keyText(keyValues) : '(no primary key)',
              column: column.name,
              wrong,
              fix: `UPDATE ${quoteMysql(plan.source.name)} SET ${quoteMysql(column.name)} = ${check.fix(value)} WHERE ${keyValues.length ? keyWhere(keyValues) : `${quoteMysql(column.name)} <=> ${mysql.escape(value)}`};`,
            });
          }
        });
      }
    }
    for (const column of plan.columns) {
      for (const check of sqlChecksOf(column)) {
        const rows = await source.query<Record<string, string | number | null>>(
          `SELECT ${key.map((k, i) => `${quoteMysql(k)} AS k${i}`).join(', ') || '1'} FROM ${quoteMysql(plan.source.name)} WHERE ${check.predicate}`,
        );
        for (const row of rows) {
          const keyValues = key.map((k, i) => ({ column: k, value: row[`k${i}`] ?? null }));
          problems.push({
            table: plan.source.name,
            key: keyValues.length ? keyText(keyValues) : '(no primary key)',
            column: column.name,
            wrong: check.wrong,
            fix: `UPDATE ${quoteMysql(plan.source.name)} SET ${quoteMysql(column.name)} = ${check.fix} WHERE ${keyValues.length ? keyWhere(keyValues) : check.predicate};`,
          });
        }
      }
    }
  }
  return problems;
}
