/**
 * The rows that break a check kept NOT VALID (legacy rows carried as they were, see
 * drizzle/0002_restructure.sql), found with the database's own definition of each check: for each
 * row its table, key, the columns the check reads with their values (never a secret: a column
 * named like a password, hash, token or session is not shown), the rule, and the SQL that fixes it.
 * Used by the migration report and `npm run db:check`. One read of each table holding such a check.
 */
import type { DatabaseClient } from '../db/client.js';
import { ruleNamed } from '../db/rules.js';

export interface RuleBreaker {
  table: string;
  /** The row's key as SQL: `id=8`, `id='100001'` (columns of a composite key joined by AND). */
  key: string;
  rule: string;
  /** `column=value` for each column the check reads. */
  values: string;
  requires: string;
  /** This rule's part of the row's fix. */
  fix: { set: string; note?: string };
}

/** One UPDATE per row, correcting every rule it breaks at once (each update of the row checks them all). */
export interface RowFix {
  table: string;
  key: string;
  sql: string;
  notes: string[];
}

export interface RuleBreakers {
  /** "table.constraint" of every check kept NOT VALID. */
  notValid: string[];
  /** At most `limit` rows per table. */
  rows: RuleBreaker[];
  /** How many rows break a check, per "table.constraint" (all of them, not only those listed). */
  counts: Record<string, number>;
}

export function rowFixes(rows: RuleBreaker[]): RowFix[] {
  const byRow = new Map<string, RuleBreaker[]>();
  for (const b of rows) byRow.set(`${b.table} ${b.key}`, [...(byRow.get(`${b.table} ${b.key}`) ?? []), b]);
  return [...byRow.values()].map((breaks) => {
    const { table, key } = breaks[0]!;
    return {
      table,
      key,
      sql: `UPDATE ${table} SET ${breaks.map((b) => b.fix.set).join(', ')} WHERE ${key};`,
      notes: breaks.flatMap((b) => (b.fix.note ? [b.fix.note] : [])),
    };
  });
}

interface NotValidCheck {
  table: string;
  name: string;
  expr: string;
  columns: { name: string; type: string }[];
  key: { name: string; type: string }[];
}

const SECRET = /password|hash|token|secret|session/i;
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
const camel = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The value as SQL would write it, cut at 80 characters; text quoted. */
function shown(column: { name: string; type: string }): string {
  const c = ident(column.name);
  if (SECRET.test(column.name)) return `'(not shown)'`;
  if (/^(text|character|name|citext)/.test(column.type)) {
    return `coalesce(quote_literal(left(${c}, 80)) || CASE WHEN length(${c}) > 80 THEN '…' ELSE '' END, 'NULL')`;
  }
  return `coalesce(left(${c}::text, 80) || CASE WHEN length(${c}::text) > 80 THEN '…' ELSE '' END, 'NULL')`;
}

export async function findRuleBreakers(client: DatabaseClient, limit = 1000): Promise<RuleBreakers> {
  const checks = await client.query<NotValidCheck>(`
    select c.conrelid::regclass::text as "table", c.conname as name, pg_get_expr(c.conbin, c.conrelid) as expr,
           (select coalesce(jsonb_agg(jsonb_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by a.attnum), '[]')
              from pg_attribute a where a.attrelid = c.conrelid and a.attnum = any(c.conkey)) as columns,
           (select coalesce(jsonb_agg(jsonb_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by k.n), '[]')
              from pg_index i cross join lateral unnest(i.indkey) with ordinality as k(attnum, n)
              join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
             where i.indrelid = c.conrelid and i.indisprimary) as key
      from pg_constraint c
     where c.contype = 'c' and not c.convalidated and c.connamespace = 'public'::regnamespace
     order by 1, 2`);
  const result: RuleBreakers = { notValid: checks.map((c) => `${c.table}.${c.name}`), rows: [], counts: {} };
  const byTable = new Map<string, NotValidCheck[]>();
  for (const check of checks) byTable.set(check.table, [...(byTable.get(check.table) ?? []), check]);

  for (const [table, tableChecks] of byTable) {
    const key = tableChecks[0]!.key.length ? tableChecks[0]!.key : [{ name: 'ctid', type: 'tid' }];
    const keyText = key
      .map(
        (k) =>
          `${literal(k.name)} || '=' || ${/^(text|character)/.test(k.type) ? `quote_literal(${ident(k.name)})` : `${ident(k.name)}::text`}`,
      )
      .join(` || ' AND ' || `);
    const columns = [...new Map(tableChecks.flatMap((c) => c.columns).map((c) => [c.name, c])).values()];
    const raw = columns
      .filter((c) => !SECRET.test(c.name))
      .map((c) => `${literal(camel(c.name))}, ${ident(c.name)}`)
      .join(', ');
    const broken = tableChecks
      .map((c, i) => `(${c.expr}) IS FALSE AS b${i}, (count(*) FILTER (WHERE (${c.expr}) IS FALSE) OVER ())::int AS n${i}`)
      .join(', ');
    const shownBy = tableChecks
      .map(
        (c, i) =>
          `${literal(String(i))}, ${c.columns.map((col) => `${literal(`${col.name}=`)} || ${shown(col)}`).join(` || ' ' || `) || `''`}`,
      )
      .join(', ');
    const rows = await client.query<
      Record<string, unknown> & { key: string; raw: Record<string, unknown>; shown: Record<string, string> }
    >(`
      select ${keyText} as key, jsonb_build_object(${raw}) as raw, jsonb_build_object(${shownBy}) as shown, ${broken}
        from ${table}
       where ${tableChecks.map((c) => `(${c.expr}) IS FALSE`).join(' OR ')}
       order by ${key.map((k) => ident(k.name)).join(', ')}
       limit ${limit}`);
    for (const [i, check] of tableChecks.entries()) {
      const name = `${table}.${check.name}`;
      result.counts[name] = Number(rows[0]?.[`n${i}`] ?? 0);
      const rule = ruleNamed(check.name);
      for (const row of rows.filter((r) => r[`b${i}`] === true)) {
        result.rows.push({
          table,
          key: row.key,
          rule: check.name,
          values: row.shown[String(i)] ?? '',
          requires: rule?.requires ?? `CHECK (${check.expr})`,
          fix: rule
            ? rule.fix(row.raw)
            : {
                set: check.columns.map((c) => `${ident(c.name)} = ${ident(c.name)}`).join(', '),
                note: `${check.name}: put values for which ${check.expr} holds`,
              },
        });
      }
    }
  }
  result.rows.sort(
    (a, b) => a.table.localeCompare(b.table) || a.key.localeCompare(b.key, 'en', { numeric: true }) || a.rule.localeCompare(b.rule),
  );
  return result;
}

/** `users id=8 role='': users_role_check (role is one of …)` */
export const describeBreaker = (b: RuleBreaker) => `${b.table} ${b.key} ${b.values}: ${b.rule} (${b.requires})`;
