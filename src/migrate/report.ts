/**
 * What the operator reads after `npm run db:migrate` or `npm run db:rollback`: rows per table
 * before and after, what became of the refresh tokens and sessions, and which checks legacy rows
 * keep from being validated.
 */
import type { DatabaseClient, DatabaseTarget } from '../db/client.js';
import { driverErrorOf } from '../db/driver-errors.js';
import { databaseProblem, describeTarget } from '../db/target.js';
import type { MigrationRun } from './migrator.js';
import { describeBreaker, findRuleBreakers, type RuleBreakers } from './rule-breakers.js';
import { createdNames, droppedTables, renamedTables } from './drift/plan.js';
import { DriftStop } from './drift/problems.js';

const KEPT = ['_prisma_migrations'] as const;

export interface TokenCounts {
  total: number;
  /** Users with an unexpired token: their longest-lived token moves into users. */
  moved: number;
  /** Unexpired tokens of those users other than the one that moves. */
  superseded: number;
  expired: number;
}

export interface DatabaseCounts {
  /** Rows per table, under whichever name the table has now; absent when the table does not exist. */
  rows: Record<string, number>;
  tokens?: TokenCounts;
  usersWithRefreshToken?: number;
  /** "table.constraint" of checks that stay NOT VALID. */
  notValid: string[];
  /** The rows that break them. */
  breakers?: RuleBreakers;
  /** What the chain's steps created and hold something: rows of a table (`name`), values of a column (`table.name`). */
  created: Record<string, number>;
}

/** Rows that break a rule named in the report; `npm run db:check` lists them all. */
const SHOWN_BREAKERS = 100;

const quoted = (table: string) => `"public"."${table}"`;

export async function countDatabase(client: DatabaseClient): Promise<DatabaseCounts> {
  const names = [...renamedTables().flatMap((t) => [t.legacy, t.current]), ...droppedTables().map((t) => t.name), ...KEPT];
  const present = await client.query<{ name: string }>(
    `select relname as name from pg_class
      where relnamespace = 'public'::regnamespace and relkind = 'r'
        and relname in (${names.map((n) => `'${n}'`).join(', ')})`,
  );
  const rows: Record<string, number> = {};
  if (present.length) {
    const counts = await client.query<{ name: string; rows: number }>(
      present.map(({ name }) => `select '${name}' as name, count(*)::int as rows from ${quoted(name)}`).join(' union all '),
    );
    for (const { name, rows: n } of counts) rows[name] = n;
  }
  const counts: DatabaseCounts = { rows, notValid: [], created: await countCreated(client) };
  if ('refresh_tokens' in rows) {
    const [tokens] = await client.query<TokenCounts>(
      `select count(*)::int as total,
              count(distinct "userId") filter (where "expiresAt" > now() at time zone 'UTC')::int as moved,
              (count(*) filter (where "expiresAt" > now() at time zone 'UTC')
                 - count(distinct "userId") filter (where "expiresAt" > now() at time zone 'UTC'))::int as superseded,
              count(*) filter (where "expiresAt" <= now() at time zone 'UTC')::int as expired
         from "refresh_tokens"`,
    );
    counts.tokens = tokens;
  }
  if ('users' in rows) {
    // a sessions array since 0005, one slot before; neither between the rollback of 0002 and the
    // rename back of 0001
    const [holds] = await client.query<{ sessions: boolean; slot: boolean }>(
      `select exists (select from pg_attribute where attrelid = '"public"."users"'::regclass
                        and attname = 'sessions' and not attisdropped) as sessions,
              exists (select from pg_attribute where attrelid = '"public"."users"'::regclass
                        and attname = 'refresh_token_hash' and not attisdropped) as slot`,
    );
    if (holds?.sessions || holds?.slot) {
      const [users] = await client.query<{ n: number }>(
        `select count(*)::int as n from "users" where ${holds.sessions ? `"sessions" <> '[]'::jsonb` : '"refresh_token_hash" is not null'}`,
      );
      counts.usersWithRefreshToken = users?.n;
    }
    counts.breakers = await findRuleBreakers(client, SHOWN_BREAKERS + 1);
    counts.notValid = counts.breakers.notValid;
  }
  return counts;
}

const createdKey = ({ name, table }: { name: string; table?: string }) => (table ? `${table}.${name}` : name);

/**
 * Rows of the tables, and values (not null) of the columns, that the chain's steps created and that
 * exist now. A column with a default (users.sessions) holds something in every row: what it held is
 * told with the rows it belongs to (the sessions, beside refresh_tokens), not counted here.
 */
async function countCreated(client: DatabaseClient): Promise<Record<string, number>> {
  const created = createdNames();
  const present = await client.query<{ table: string; column: string | null }>(
    `select c.relname as table, a.attname as column
       from pg_class c left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and not a.atthasdef
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
        and c.relname in (${[...new Set(created.map((c) => c.table ?? c.name))].map((n) => `'${n}'`).join(', ')})`,
  );
  const exists = ({ name, table }: { name: string; table?: string }) =>
    present.some((p) => (table ? p.table === table && p.column === name : p.table === name));
  const counted = created
    .filter(exists)
    .map((c) =>
      c.table
        ? `select '${createdKey(c)}' as key, count("${c.name}")::int as n from ${quoted(c.table)}`
        : `select '${createdKey(c)}' as key, count(*)::int as n from ${quoted(c.name)}`,
    );
  if (!counted.length) return {};
  const rows = await client.query<{ key: string; n: number }>(counted.join(' union all '));
  return Object.fromEntries(rows.map(({ key, n }) => [key, Number(n)]));
}

export interface Report {
  text: string;
  /** False when a table lost or gained rows, which must never happen. */
  ok: boolean;
}

/** One line when nothing was applied; otherwise what was applied and the rows of every table. */
export function formatReport(run: MigrationRun<DatabaseCounts, unknown>): Report {
  const { before, after, applied } = run;
  const down = run.direction === 'down';
  if (!applied.length || !before || !after)
    return { text: down ? 'Nothing to roll back.' : 'Nothing to apply: the database is up to date.', ok: true };
  const lines: string[] = [];
  let ok = true;
  const tags = applied.map((m) => m.tag).join(', ');
  lines.push(down ? `Rolled back ${applied.length} migration(s): ${tags}.` : `Applied ${applied.length} migration(s): ${tags}.`);
  const width = 44;
  lines.push('', `${'table'.padEnd(width)}${'rows before'.padStart(12)}${'rows after'.padStart(12)}`);
  const row = (label: string, b: number | undefined, a: number | undefined, note = '') =>
    lines.push(`${label.padEnd(width)}${String(b ?? '-').padStart(12)}${String(a ?? '-').padStart(12)}${note ? `   ${note}` : ''}`);
  for (const { legacy, current } of renamedTables()) {
    const b = before.rows[legacy] ?? before.rows[current];
    const a = after.rows[current] ?? after.rows[legacy];
    const [from, to] = down ? [current, `"${legacy}"`] : [`"${legacy}"`, current];
    const renamed = down ? current in before.rows && legacy in after.rows : legacy in before.rows && current in after.rows;
    const lost = b !== undefined && a !== b;
    if (lost) ok = false;
    // not renamed: the name it has now (after a rollback --to 0001_rename_tables, still the new one)
    row(
      renamed ? `${from} -> ${to}` : current in after.rows ? current : `"${legacy}"`,
      b,
      a,
      lost ? 'MISMATCH: rows were lost or added' : '',
    );
  }
  for (const { name: table, note: why } of droppedTables()) {
    const b = before.rows[table];
    if (down && b === undefined && after.rows[table] !== undefined) {
      const sessions = before.usersWithRefreshToken ?? 0;
      row(
        table,
        b,
        after.rows[table],
        table === 'refresh_tokens'
          ? `recreated empty: ${sessions} session(s) end (only token hashes were kept); those users log in again`
          : 'recreated empty: its test data was not kept',
      );
      continue;
    }
    if (b === undefined) continue;
    const a = after.rows[table];
    let note = a === undefined ? 'dropped' : '';
    if (table === 'refresh_tokens' && before.tokens && a === undefined) {
      const t = before.tokens;
      note = `dropped: ${t.moved} moved into users, ${t.superseded} superseded, ${t.expired} expired`;
      if (after.usersWithRefreshToken !== t.moved) {
        ok = false;
        note += ` (MISMATCH: ${after.usersWithRefreshToken ?? 0} users hold a token)`;
      }
    } else if (a === undefined && why) {
      note = `dropped: ${why}`;
    }
    row(table, b, a, note);
  }
  // down only: what the legacy schema has no place for, dropped with the step that created it
  if (down) {
    for (const created of createdNames()) {
      const key = createdKey(created);
      const held = before.created[key];
      if (held && !(key in after.created))
        row(
          created.table ? `${key} (values)` : key,
          held,
          undefined,
          `dropped: ${created.note ?? 'the legacy schema has no place for it'}`,
        );
    }
  }
  // up only: a rollback keeps only unexpired sessions, and one per user
  const holding = [before.usersWithRefreshToken, after.usersWithRefreshToken];
  if (!down && !before.tokens && holding.every((n) => n !== undefined)) {
    const lost = holding[0] !== holding[1];
    if (lost) ok = false;
    row('users holding a refresh-token session', holding[0], holding[1], lost ? 'MISMATCH: sessions were lost' : '');
  }
  for (const table of KEPT) {
    if (table in before.rows || table in after.rows) row(table, before.rows[table], after.rows[table], 'kept as it was');
  }
  lines.push('');
  if (run.carried?.length) {
    lines.push(
      `Objects the chain does not manage, on its tables, carried ${down ? 'back' : 'over'} (${run.carried.length}):`,
      ...run.carried.map((line) => `  ${line}`),
      '',
    );
  }
  if (run.vacuumStopped) {
    lines.push(
      `The chain is applied, but VACUUM (ANALYZE) of its tables did not finish: ${run.vacuumStopped}. ` +
        'Until autovacuum reaches them, the planner has no statistics of the tables rewritten and the orders search reads ' +
        'the table for every order it tests: run VACUUM (ANALYZE) on this database when the cause is gone.',
      '',
    );
  }
  if (after.notValid.length) lines.push(...describeRuleBreakers(after.breakers), '');
  else if ('users' in after.rows) lines.push('Every check is validated against every row.');
  lines.push(ok ? 'Every row is accounted for.' : 'ROW COUNTS DO NOT MATCH: restore the backup and report this.');
  return { text: lines.join('\n'), ok };
}

/** The rows that break a check kept NOT VALID, one line each, and what that means. */
export function describeRuleBreakers(breakers: RuleBreakers | undefined): string[] {
  if (!breakers?.notValid.length) return [];
  const total = Object.values(breakers.counts).reduce((a, b) => a + b, 0);
  const lines = [
    `Rows that break a rule of the new schema (${total}, a line per row and rule). They were kept exactly as they were, and each rule stays NOT VALID:`,
    'it holds for every new row and every changed one, so a change to such a row must also correct it',
    '(the API names the fields to correct). The rows, and the rule each breaks:',
    ...breakers.rows.slice(0, SHOWN_BREAKERS).map((b) => `  ${describeBreaker(b)}`),
  ];
  if (total > Math.min(breakers.rows.length, SHOWN_BREAKERS))
    lines.push(`  … and ${total - Math.min(breakers.rows.length, SHOWN_BREAKERS)} more`);
  const clean = breakers.notValid.filter((name) => !breakers.counts[name]);
  if (clean.length) lines.push(`Kept NOT VALID, though no row breaks them now (VALIDATE CONSTRAINT them): ${clean.join(', ')}`);
  lines.push(
    '`npm run db:check` lists them at any time, with the SQL that fixes each; once a rule has no such row left,',
    'it validates it (`npm run db:check -- --validate`).',
  );
  return lines;
}

/**
 * The DETAIL of the migrations' own errors (RAISE in drizzle/, SQLSTATE P0001 or BOnnn) says what to
 * do; PostgreSQL's own DETAIL can print a whole row ("Failing row contains (…)": a password hash,
 * a token hash), so it is never shown.
 */
const ownError = (code: string | undefined) => code === 'P0001' || /^BO/.test(code ?? '');

/** Why a migration (or a rollback) stopped. */
export function describeFailure(error: unknown, target: DatabaseTarget, what = 'Migration'): string {
  const db = driverErrorOf(error);
  const constraint = db?.constraint;
  const table = db?.table;
  const lines = [`${what} of ${describeTarget(target)} stopped; nothing was changed.`, databaseProblem(error, target)];
  if (error instanceof DriftStop) {
    lines.push(
      `HINT: Each is the database's own (a DBA's, a report's), not the chain's. Do what each line says, then run npm run db:${what === 'Rollback' ? 'rollback' : 'migrate'} again ` +
        '(README, "Restructuring a production database", "Objects the chain does not manage").',
    );
    return lines.join('\n');
  }
  if (db?.detail && ownError(db.code)) lines.push(`DETAIL: ${db.detail}`);
  else if (db?.detail) lines.push("(PostgreSQL's DETAIL, which can show the row's contents, is not shown.)");
  if (db?.hint) lines.push(`HINT: ${db.hint}`);
  else if (db?.code === '23514') {
    lines.push(
      `HINT: A row of ${table ?? 'a table'} breaks ${constraint ?? 'a check'} as changed by this step. ` +
        '`npm run db:check` (on the database before this run) lists the rows that break each rule, with the SQL that fixes each.',
    );
  }
  return lines.join('\n');
}
