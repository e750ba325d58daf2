/**
 * Drift: what a production database holds on the chain's tables that the chain does not manage
 * (a DBA's views, materialized views, triggers, functions, rules, policies, indexes, columns,
 * keys from other tables, grants, comments, publications). A migration or rollback takes an
 * inventory of it first, in its own transaction, before any statement of the chain runs:
 *
 * - what cannot be carried over as it is (a function or trigger whose body names a table or
 *   column that the pending steps rename or drop; anything reading a table or column they drop)
 *   stops the run there, naming every such object at once with what to do;
 * - PostgreSQL carries the rest through renames by itself (views, rules, policies and trigger
 *   conditions refer to columns by number). Only a statement it refuses for them (a column whose
 *   type changes, a column or table dropped) sets them aside: each is read back with PostgreSQL's
 *   own definition as it stands at that moment (the renames so far applied), dropped, and created
 *   again right after that statement with its owner, grants, comments, options and, for a
 *   materialized view, its indexes and data. One that cannot be created again stops the run, with
 *   every other such object, at its end;
 * - the operator's triggers on the chain's tables do not fire for the chain's own data moves (the
 *   refresh-token and sessions moves of users): those are the restructuring, not changes of the
 *   data, and a `BEFORE UPDATE` that sets `updated_at` would otherwise alter rows the chain
 *   carries unchanged. They are enabled again as they were before the transaction commits.
 *
 * Nothing printed names a row's contents: only objects, their names and PostgreSQL's message
 * (never its DETAIL).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { sql, type SQL } from 'drizzle-orm';
import { databaseErrorOf, driverErrorOf } from '../db/driver-errors.js';
import { MIGRATIONS_FOLDER } from '../db/migrations-folder.js';

/** Plain SQL inside the migration's transaction; rows as plain objects. */
export type Query = <T = Record<string, unknown>>(text: string) => Promise<T[]>;

/**
 * A drizzle transaction: runs SQL, and nests a savepoint (`transaction`). A statement that may
 * fail and be retried must run in one: postgres.js remembers any failed query of a transaction and
 * fails the whole transaction with it at its end, even when the failure was caught, unless it
 * happened inside a savepoint of its own (postgres.js `savepoint`, which drizzle's nested
 * transaction is).
 */
export interface Transaction {
  execute(query: SQL): PromiseLike<unknown>;
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}

/** Plain SQL in a transaction: rows as plain objects (postgres.js gives an array, PGlite `{ rows }`). */
export const queryIn = (tx: Pick<Transaction, 'execute'>): Query => async <T>(text: string) => {
  // the row type is the caller's word for its own SQL; the shape is either driver's
  const result = (await tx.execute(sql.raw(text))) as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
};
export type Direction = 'up' | 'down';

/** One object the run cannot carry over; the run stopped, nothing changed. */
export interface DriftProblem {
  kind: string;
  name: string;
  why: string;
  todo: string;
}

/** The run stopped before committing anything: every object it cannot carry, each with what to do. */
export class DriftStop extends Error {
  constructor(readonly direction: Direction, readonly problems: DriftProblem[]) {
    super(
      `${problems.length} object(s) that the migration chain does not manage cannot be carried ${direction === 'up' ? 'over' : 'back'} as they are:\n` +
        problems.map((p) => `  ${p.kind} ${p.name}: ${p.why}.\n    ${p.todo}`).join('\n'),
    );
    this.name = 'DriftStop';
  }
}

// ---------------------------------------------------------------------------------------------
// What the chain renames and drops, step by step

interface Plan {
  tables: Record<string, string>;
  columns: Record<string, Record<string, string>>;
}
let plan: Plan | undefined;
/** The renames of the restructuring (0001 and 0002), as drizzle-kit was told them. */
// a file of this build's own chain, read as the shape it is written in
const PLAN = () => (plan ??= JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/plans/0001_restructure.json`, 'utf8')) as Plan);

/** A name that a step changes: what it becomes (null: dropped), and on which table for a column. */
interface NameChange {
  name: string;
  becomes: string | null;
  table?: string;
  note?: string;
}

interface StepChanges {
  tables: NameChange[];
  columns: NameChange[];
}

const REFRESH_SLOT = ['refresh_token_hash', 'refresh_token_expires_at', 'previous_refresh_token_hash', 'refresh_token_rotated_at'];
const legacyTable = (current: string) => Object.entries(PLAN().tables).find(([, t]) => t === current)?.[0] ?? current;

/** Up: the steps that rename or drop what an operator's object can name, by tag. */
function upChanges(tag: string): StepChanges {
  if (tag.startsWith('0001_')) return { tables: Object.entries(PLAN().tables).map(([name, becomes]) => ({ name, becomes })), columns: [] };
  if (tag.startsWith('0002_')) {
    return {
      tables: [
        { name: 'refresh_tokens', becomes: null, note: 'each user\'s unexpired refresh token moves into users.sessions' },
        { name: 'DilovodData', becomes: null, note: 'test data, unused' },
        { name: 'SalesDriveData', becomes: null, note: 'test data, unused' },
      ],
      columns: Object.entries(PLAN().columns).flatMap(([table, renames]) =>
        Object.entries(renames).map(([name, becomes]) => ({ name, becomes, table: legacyTable(table) }))),
    };
  }
  if (tag.startsWith('0005_')) {
    return { tables: [], columns: REFRESH_SLOT.map((name) => ({ name, becomes: null, table: 'users', note: 'the sessions are in users.sessions' })) };
  }
  return { tables: [], columns: [] };
}

/** Down: what reverting the step renames back or drops. */
function downChanges(tag: string): StepChanges {
  if (tag.startsWith('0007_')) return { tables: [{ name: 'shop_settings', becomes: null, note: 'the legacy schema has no shop settings' }], columns: [] };
  if (tag.startsWith('0006_')) return { tables: [], columns: [{ name: 'salesdrive_updated_at', becomes: null, table: 'orders' }] };
  if (tag.startsWith('0005_')) {
    return {
      tables: [{ name: 'rate_limits', becomes: null, note: 'login-attempt counters' }],
      columns: ['sessions', 'token_version'].map((name) => ({ name, becomes: null, table: 'users', note: 'one refresh-token slot per user again' })),
    };
  }
  if (tag.startsWith('0002_')) {
    return {
      tables: [],
      columns: [
        ...Object.entries(PLAN().columns).flatMap(([table, renames]) =>
          Object.entries(renames).map(([becomes, name]) => ({ name, becomes, table }))),
        ...REFRESH_SLOT.map((name) => ({ name, becomes: null, table: 'users', note: 'the legacy schema keeps tokens in refresh_tokens' })),
      ],
    };
  }
  if (tag.startsWith('0001_')) return { tables: Object.entries(PLAN().tables).map(([becomes, name]) => ({ name, becomes })), columns: [] };
  return { tables: [], columns: [] };
}

/** Every table the chain touches, under every name it has had. */
const chainTableNames = () => [
  ...Object.entries(PLAN().tables).flat(),
  'refresh_tokens', 'DilovodData', 'SalesDriveData', 'rate_limits', 'shop_settings',
];

/**
 * Names the chain itself gives (every snapshot's tables, columns, indexes and constraints, and the
 * triggers and functions its SQL creates): what is not among them on its tables is the operator's.
 */
interface Managed {
  columns: Set<string>;
  indexes: Set<string>;
  constraints: Set<string>;
  triggers: Set<string>;
  functions: Set<string>;
}

let managed: Managed | undefined;
function managedNames(): Managed {
  if (managed) return managed;
  const m: Managed = { columns: new Set(), indexes: new Set(), constraints: new Set(), triggers: new Set(), functions: new Set() };
  for (const file of readdirSync(`${MIGRATIONS_FOLDER}/meta`).filter((f) => f.endsWith('_snapshot.json'))) {
    // drizzle-kit's snapshot of this build's chain, read as the shape it writes
    const snapshot = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/${file}`, 'utf8')) as {
      tables: Record<string, { name: string; columns: Record<string, { name: string }>; indexes: Record<string, unknown>; foreignKeys: Record<string, unknown>;
        compositePrimaryKeys: Record<string, unknown>; uniqueConstraints: Record<string, unknown>; checkConstraints?: Record<string, unknown> }>;
    };
    for (const table of Object.values(snapshot.tables)) {
      for (const column of Object.values(table.columns)) m.columns.add(`${table.name}.${column.name}`);
      for (const name of Object.keys(table.indexes)) m.indexes.add(name);
      for (const group of [table.foreignKeys, table.compositePrimaryKeys, table.uniqueConstraints, table.checkConstraints ?? {}]) {
        for (const name of Object.keys(group)) m.constraints.add(name);
      }
    }
  }
  const sqlFiles = [
    ...readdirSync(MIGRATIONS_FOLDER).filter((f) => f.endsWith('.sql')).map((f) => `${MIGRATIONS_FOLDER}/${f}`),
    ...readdirSync(`${MIGRATIONS_FOLDER}/down`).filter((f) => f.endsWith('.sql')).map((f) => `${MIGRATIONS_FOLDER}/down/${f}`),
  ];
  for (const file of sqlFiles) {
    const text = readFileSync(file, 'utf8');
    for (const [, name] of text.matchAll(/CREATE TRIGGER "?(\w+)"?/g)) m.triggers.add(name!);
    for (const [, name] of text.matchAll(/CREATE (?:OR REPLACE )?FUNCTION "?(\w+)"?\s*\(/g)) m.functions.add(name!);
    for (const [, name] of text.matchAll(/(?:CREATE (?:UNIQUE )?INDEX|RENAME TO|RENAME CONSTRAINT "?\w+"? TO|ADD CONSTRAINT|CONSTRAINT) "?(\w+)"?/g)) {
      m.indexes.add(name!);
      m.constraints.add(name!);
    }
    for (const [, name] of text.matchAll(/"(\w+_pkey)"/g)) m.constraints.add(name!);
  }
  return (managed = m);
}

// ---------------------------------------------------------------------------------------------
// SQL helpers

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);
const tableList = (names: string[]) => `array[${names.map(literal).join(', ')}]::text[]`;
/** ALTER refused for a view or rule that reads the column (0A000), or DROP for a dependent object (2BP01). */
const refusedForDependents = (error: unknown) => driverErrorOf(error, (code) => code === '0A000' || code === '2BP01') !== undefined;
const driverMessage = (error: unknown) => databaseErrorOf(error)?.message ?? String(error);

/** The chain's tables present now: oid and name. */
async function chainTables(q: Query): Promise<{ oid: string; name: string }[]> {
  return q(`select c.oid::int8::text as oid, c.relname as name from pg_class c
             where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and c.relname = any(${tableList(chainTableNames())})`);
}
const oidList = (tables: { oid: string }[]) => `array[${tables.map((t) => t.oid).join(', ') || '0'}]::oid[]`;

/** Comments and the languages whose bodies are SQL text: what a body names, its comments left out. */
const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');

/** The names of `changes` that `source` uses: quoted exactly, or bare (a lower-case name, any case). */
function namesUsed(source: string, changes: NameChange[]): NameChange[] {
  const text = withoutComments(source);
  const seen = new Map<string, NameChange>();
  for (const change of changes) {
    if (seen.has(change.name)) continue;
    const quoted = text.includes(`"${change.name.replaceAll('"', '""')}"`);
    const bare = /^[a-z_][a-z0-9_]*$/.test(change.name) && new RegExp(`(?<![\\w$"])${change.name}(?![\\w$"])`, 'i').test(text);
    if (quoted || bare) seen.set(change.name, change);
  }
  return [...seen.values()];
}

const describeChange = (c: NameChange) =>
  `${/^[a-z_][a-z0-9_]*$/.test(c.name) ? c.name : `"${c.name}"`} → ${c.becomes === null ? `dropped${c.note ? ` (${c.note})` : ''}` : ident(c.becomes)}`;

// ---------------------------------------------------------------------------------------------
// The inventory

interface TriggerRow {
  table_oid: string;
  table: string;
  name: string;
  function: string;
  function_oid: string;
  args: string[];
  enabled: string;
}

interface FunctionRow {
  oid: string;
  name: string;
  kind: string;
  source: string;
}

interface DependentRow {
  kind: string;
  name: string;
  reads: { table: string; column: string | null }[];
  via: string | null;
}

async function unmanagedTriggers(q: Query, tables: { oid: string }[]): Promise<TriggerRow[]> {
  const rows = await q<TriggerRow>(`
    select t.tgrelid::int8::text as table_oid, t.tgrelid::regclass::text as "table", t.tgname as name,
           format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as function,
           p.oid::int8::text as function_oid, t.tgenabled::text as enabled,
           case when t.tgnargs = 0 then '{}'::text[] else (string_to_array(encode(t.tgargs, 'escape'), '\\000'))[1:t.tgnargs] end as args
      from pg_trigger t join pg_proc p on p.oid = t.tgfoid join pg_namespace pn on pn.oid = p.pronamespace
     where t.tgrelid = any(${oidList(tables)}) and not t.tgisinternal
     order by 2, 3`);
  const { triggers } = managedNames();
  return rows.filter((t) => !triggers.has(t.name));
}

/** plpgsql and SQL functions (bodies as text) outside the system's schemas and extensions, but the chain's own. */
async function operatorFunctions(q: Query): Promise<FunctionRow[]> {
  const rows = await q<FunctionRow & { proname: string }>(`
    select p.oid::int8::text as oid, p.proname, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as name,
           case p.prokind when 'p' then 'procedure' else 'function' end as kind, p.prosrc as source
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
     where l.lanname in ('plpgsql', 'sql') and p.prosrc is not null and p.prosrc <> ''
       and n.nspname not in ('pg_catalog', 'information_schema', 'drizzle') and n.nspname !~ '^pg_(toast|temp)'
       and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
     order by 3`);
  const { functions } = managedNames();
  return rows.filter((f) => !functions.has(f.proname));
}

/**
 * Views, materialized views, rules and policies that read the chain's tables, directly or through
 * other views, with the columns they read.
 */
async function dependents(q: Query, tables: { oid: string }[]): Promise<DependentRow[]> {
  return q<DependentRow>(`
    with recursive dep as (
      select d.classid, d.objid, d.refobjid, d.refobjsubid, null::oid as via
        from pg_depend d
       where d.refclassid = 'pg_class'::regclass and d.refobjid = any(${oidList(tables)}) and d.deptype = 'n'
         and d.classid in ('pg_rewrite'::regclass, 'pg_policy'::regclass)
      union
      select d.classid, d.objid, d.refobjid, d.refobjsubid, r.ev_class
        from dep join pg_rewrite r on dep.classid = 'pg_rewrite'::regclass and r.oid = dep.objid and r.rulename = '_RETURN'
        join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = r.ev_class and d.deptype = 'n'
                        and d.classid = 'pg_rewrite'::regclass and d.objid <> dep.objid
    ), named as (
      select case when dep.classid = 'pg_policy'::regclass then 'policy'
                  when r.rulename <> '_RETURN' then 'rule'
                  when c.relkind = 'm' then 'materialized view' else 'view' end as kind,
             case when dep.classid = 'pg_policy'::regclass then format('%I on %s', p.polname, p.polrelid::regclass)
                  when r.rulename <> '_RETURN' then format('%I on %s', r.rulename, r.ev_class::regclass)
                  else format('%I.%I', n.nspname, c.relname) end as name,
             dep.refobjid::regclass::text as ref_table, a.attname as ref_column, dep.via::regclass::text as via
        from dep
        left join pg_rewrite r on dep.classid = 'pg_rewrite'::regclass and r.oid = dep.objid
        left join pg_class c on c.oid = r.ev_class
        left join pg_namespace n on n.oid = c.relnamespace
        left join pg_policy p on dep.classid = 'pg_policy'::regclass and p.oid = dep.objid
        left join pg_attribute a on a.attrelid = dep.refobjid and a.attnum = dep.refobjsubid and dep.refobjsubid > 0
       where not (c.oid is not null and c.oid = dep.refobjid)
    )
    select kind, name, min(via) as via,
           json_agg(distinct jsonb_build_object('table', ref_table, 'column', ref_column)) as reads
      from named group by kind, name order by 2`);
}

/** `"User"` and `users` alike, as PostgreSQL prints a table's name (regclass). */
const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name);

/**
 * What the pending steps cannot carry: read before any of them runs. Empty: the run may go on.
 */
export async function findProblems(q: Query, direction: Direction, tags: string[]): Promise<DriftProblem[]> {
  const steps = tags.map((tag) => ({ tag, ...(direction === 'up' ? upChanges(tag) : downChanges(tag)) }));
  const tableChanges = steps.flatMap((s) => s.tables.map((c) => ({ ...c, tag: s.tag })));
  const columnChanges = steps.flatMap((s) => s.columns.map((c) => ({ ...c, tag: s.tag })));
  const all = [...tableChanges, ...columnChanges];
  if (!all.length) return [];
  const tables = await chainTables(q);
  const problems: DriftProblem[] = [];
  const droppedTables = new Map(tableChanges.filter((c) => c.becomes === null).map((c) => [c.name, c]));
  const droppedColumns = new Map(columnChanges.filter((c) => c.becomes === null).map((c) => [`${c.table}.${c.name}`, c]));
  const again = direction === 'up' ? 'migrating' : 'rolling back';
  const after = direction === 'up' ? 'once migrated' : 'once rolled back';
  const schema = direction === 'up' ? 'the new schema' : 'the legacy schema';

  const triggers = await unmanagedTriggers(q, tables);
  const functions = await operatorFunctions(q);
  const named = new Map(functions.map((f) => [f.oid, namesUsed(f.source, all)]));
  const triggerFunctions = new Set<string>();
  for (const t of triggers) {
    const dropped = droppedTables.get(unquote(t.table));
    const inBody = named.get(t.function_oid) ?? [];
    const inArgs = t.args.flatMap((arg) => all.filter((c) => c.name === arg));
    const drop = `DROP TRIGGER ${ident(t.name)} ON ${t.table};`;
    if (dropped) {
      problems.push({
        kind: 'trigger', name: `${ident(t.name)} on ${t.table} (function ${t.function})`,
        why: `${dropped.tag} drops ${t.table} (${dropped.note ?? 'not in ' + schema}), and the trigger with it`,
        todo: `Drop it before ${again} (${drop}); what it did has no table to act on in ${schema}.`,
      });
      continue;
    }
    if (!inBody.length && !inArgs.length) continue;
    triggerFunctions.add(t.function_oid);
    const parts = [
      ...(inBody.length ? [`its function ${t.function} names ${inBody.map(describeChange).join(', ')}`] : []),
      ...(inArgs.length ? [`its arguments name ${inArgs.map(describeChange).join(', ')}`] : []),
    ];
    problems.push({
      kind: 'trigger', name: `${ident(t.name)} on ${t.table} (function ${t.function})`,
      why: `${parts.join('; ')}: it would fail at its first use`,
      todo: `Drop it before ${again} (${drop}), then create the function again with the names changed as above, and the trigger, ${after}.`,
    });
  }
  for (const f of functions) {
    const names = named.get(f.oid) ?? [];
    if (!names.length || triggerFunctions.has(f.oid)) continue;
    problems.push({
      kind: f.kind, name: f.name,
      why: `its body names ${names.map(describeChange).join(', ')}: it would fail at its first use`,
      todo: `Drop it before ${again} (DROP ${f.kind.toUpperCase()} ${f.name};) and create it again with the names changed as above ${after}, or change them in it then.`,
    });
  }

  // anything reading a table or column the pending steps drop (PostgreSQL would refuse the drop,
  // or, for a trigger, drop it silently with its table)
  const cannot = new Set<string>();
  for (const d of await dependents(q, tables)) {
    const lost = d.reads.flatMap((r) => {
      const table = unquote(r.table);
      const gone = droppedTables.get(table);
      if (gone) return [{ label: r.table, change: gone }];
      const column = r.column ? droppedColumns.get(`${table}.${r.column}`) : undefined;
      return column ? [{ label: `${r.table}.${ident(r.column!)}`, change: column }] : [];
    });
    const throughView = d.via && cannot.has(d.via);
    if (!lost.length && !throughView) continue;
    cannot.add(d.name);
    const what = lost.length
      ? [...new Set(lost.map((l) => l.label))].join(', ')
      : `view ${d.via}`;
    const dropWord = d.kind === 'policy' ? `DROP POLICY ${d.name}` : d.kind === 'rule' ? `DROP RULE ${d.name}` : `DROP ${d.kind.toUpperCase()} ${d.name}`;
    problems.push({
      kind: d.kind, name: d.name,
      why: lost.length
        ? `it reads ${what}, which ${lost[0]!.change.tag} drops${lost[0]!.change.note ? ` (${lost[0]!.change.note})` : ''}`
        : `it reads ${what}, which cannot be carried`,
      todo: `Drop it before ${again} (${dropWord};) and create what it gives from ${schema} ${after}.`,
    });
  }
  const keys = await q<{ name: string; table: string; references: string }>(`
    select c.conname as name, c.conrelid::regclass::text as "table", c.confrelid::regclass::text as "references"
      from pg_constraint c where c.contype = 'f' and c.confrelid = any(${oidList(tables)}) and not c.conrelid = any(${oidList(tables)})
     order by 2, 1`);
  for (const k of keys) {
    const dropped = droppedTables.get(unquote(k.references));
    if (!dropped) continue;
    problems.push({
      kind: 'foreign key', name: `${ident(k.name)} on ${k.table}`,
      why: `it references ${k.references}, which ${dropped.tag} drops${dropped.note ? ` (${dropped.note})` : ''}`,
      todo: `Drop it before ${again} (ALTER TABLE ${k.table} DROP CONSTRAINT ${ident(k.name)};).`,
    });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Setting aside what PostgreSQL refuses a statement for

interface SetAside {
  kind: string;
  name: string;
  drop: string;
  create: string[];
  /** Owner, grants, comments, indexes…: what came back with it, for the report. */
  with: string[];
  /** A materialized view holding data: its rows are counted once created again. */
  count?: string;
}

/** Objects reading columns of `tables` (and views reading those), dependents first: the order to drop them in. */
async function captureDependents(q: Query, tables: { oid: string }[]): Promise<SetAside[]> {
  const rows = await q<{ classid: string; objid: string; depth: number }>(`
    with recursive dep as (
      select d.classid, d.objid, 1 as depth
        from pg_depend d
       where d.refclassid = 'pg_class'::regclass and d.refobjid = any(${oidList(tables)}) and d.refobjsubid > 0 and d.deptype = 'n'
         and d.classid in ('pg_rewrite'::regclass, 'pg_policy'::regclass, 'pg_trigger'::regclass)
         and not exists (select from pg_trigger t where d.classid = 'pg_trigger'::regclass and t.oid = d.objid and t.tgisinternal)
      union
      select d.classid, d.objid, dep.depth + 1
        from dep join pg_rewrite r on dep.classid = 'pg_rewrite'::regclass and r.oid = dep.objid and r.rulename = '_RETURN'
        join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = r.ev_class and d.deptype = 'n'
                        and d.classid in ('pg_rewrite'::regclass, 'pg_trigger'::regclass, 'pg_policy'::regclass) and d.objid <> dep.objid
       where dep.depth < 50
    )
    select classid::regclass::text as classid, objid::int8::text as objid, max(depth) as depth from dep group by 1, 2 order by 3 desc, 2`);
  const result: SetAside[] = [];
  const done = new Set<string>();
  for (const row of rows) {
    const key = `${row.classid}:${row.objid}`;
    if (done.has(key)) continue;
    done.add(key);
    // a view's own rules and triggers come back with it
    if (row.classid === 'pg_rewrite') {
      const [rule] = await q<{ view: string | null; rule: string | null }>(`
        select case when r.rulename = '_RETURN' then r.ev_class::int8::text end as view, r.oid::int8::text as rule
          from pg_rewrite r where r.oid = ${row.objid}`);
      if (rule?.view) result.push(await captureRelation(q, rule.view));
      else if (rule?.rule) result.push(await captureRule(q, rule.rule));
    } else if (row.classid === 'pg_trigger') result.push(await captureTrigger(q, row.objid));
    else if (row.classid === 'pg_policy') result.push(await capturePolicy(q, row.objid));
  }
  return result;
}

/** COMMENT ON … IS …, or nothing. */
const commentOn = (what: string, comment: string | null) => (comment === null ? [] : [`COMMENT ON ${what} IS ${literal(comment)}`]);
const ENABLE: Record<string, string> = { O: 'ENABLE', D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

async function captureTrigger(q: Query, oid: string): Promise<SetAside> {
  const [t] = await q<{ name: string; table: string; def: string; enabled: string; comment: string | null }>(`
    select t.tgname as name, t.tgrelid::regclass::text as "table", pg_get_triggerdef(t.oid) as def, t.tgenabled::text as enabled,
           obj_description(t.oid, 'pg_trigger') as comment
      from pg_trigger t where t.oid = ${oid}`);
  const on = `${ident(t!.name)} ON ${t!.table}`;
  return {
    kind: 'trigger', name: `${ident(t!.name)} on ${t!.table}`, drop: `DROP TRIGGER ${on}`,
    create: [t!.def, ...(t!.enabled !== 'O' ? [`ALTER TABLE ${t!.table} ${ENABLE[t!.enabled]} TRIGGER ${ident(t!.name)}`] : []), ...commentOn(`TRIGGER ${on}`, t!.comment)],
    with: t!.comment === null ? [] : ['comment'],
  };
}

async function captureRule(q: Query, oid: string): Promise<SetAside> {
  const [r] = await q<{ name: string; table: string; def: string; enabled: string; comment: string | null }>(`
    select r.rulename as name, r.ev_class::regclass::text as "table", pg_get_ruledef(r.oid) as def, r.ev_enabled::text as enabled,
           obj_description(r.oid, 'pg_rewrite') as comment
      from pg_rewrite r where r.oid = ${oid}`);
  const on = `${ident(r!.name)} ON ${r!.table}`;
  return {
    kind: 'rule', name: `${ident(r!.name)} on ${r!.table}`, drop: `DROP RULE ${on}`,
    create: [r!.def.replace(/;\s*$/, ''), ...(r!.enabled !== 'O' ? [`ALTER TABLE ${r!.table} ${ENABLE[r!.enabled]} RULE ${ident(r!.name)}`] : []), ...commentOn(`RULE ${on}`, r!.comment)],
    with: r!.comment === null ? [] : ['comment'],
  };
}

async function capturePolicy(q: Query, oid: string): Promise<SetAside> {
  const [p] = await q<{ name: string; table: string; create: string; comment: string | null }>(`
    select p.polname as name, p.polrelid::regclass::text as "table", obj_description(p.oid, 'pg_policy') as comment,
           format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, p.polrelid::regclass,
                  case when p.polpermissive then 'PERMISSIVE' else 'RESTRICTIVE' end,
                  case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end,
                  (select string_agg(case when r = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(r)) end, ', ') from unnest(p.polroles) as r),
                  ' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                  ' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')') as "create"
      from pg_policy p where p.oid = ${oid}`);
  const on = `${ident(p!.name)} ON ${p!.table}`;
  return { kind: 'policy', name: `${ident(p!.name)} on ${p!.table}`, drop: `DROP POLICY ${on}`, create: [p!.create, ...commentOn(`POLICY ${on}`, p!.comment)], with: p!.comment === null ? [] : ['comment'] };
}

/** A view or materialized view, as PostgreSQL defines it now, with everything that goes with it. */
async function captureRelation(q: Query, oid: string): Promise<SetAside> {
  const [v] = await q<{
    name: string; kind: string; def: string; options: string[] | null; owner: string; populated: boolean; tablespace: string | null;
    comment: string | null; has_acl: boolean; grants: string[]; columns: { name: string; comment: string | null; default: string | null; grants: string[] }[];
    indexes: { name: string; def: string; comment: string | null; clustered: boolean }[];
  }>(`
    select format('%I.%I', n.nspname, c.relname) as name, c.relkind::text as kind, pg_get_viewdef(c.oid) as def, c.reloptions as options,
           quote_ident(pg_get_userbyid(c.relowner)) as owner, c.relispopulated as populated, ts.spcname as tablespace,
           obj_description(c.oid, 'pg_class') as comment, c.relacl is not null as has_acl,
           coalesce((select array_agg(format('%s TO %s%s', a.privilege_type,
                                             case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                                             case when a.is_grantable then ' WITH GRANT OPTION' else '' end) order by a.n)
                       from aclexplode(c.relacl) with ordinality as a(grantor, grantee, privilege_type, is_grantable, n)), '{}') as grants,
           coalesce((select json_agg(json_build_object(
                       'name', at.attname, 'comment', col_description(c.oid, at.attnum), 'default', pg_get_expr(ad.adbin, ad.adrelid),
                       'grants', coalesce((select array_agg(format('%s (%I) TO %s%s', a.privilege_type, at.attname,
                                             case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end,
                                             case when a.is_grantable then ' WITH GRANT OPTION' else '' end) order by a.n)
                                             from aclexplode(at.attacl) with ordinality as a(grantor, grantee, privilege_type, is_grantable, n)), '{}')) order by at.attnum)
                       from pg_attribute at left join pg_attrdef ad on ad.adrelid = at.attrelid and ad.adnum = at.attnum
                      where at.attrelid = c.oid and at.attnum > 0 and not at.attisdropped), '[]') as columns,
           coalesce((select json_agg(json_build_object('name', ic.relname, 'def', pg_get_indexdef(i.indexrelid),
                                                       'comment', obj_description(i.indexrelid, 'pg_class'), 'clustered', i.indisclustered) order by ic.relname)
                       from pg_index i join pg_class ic on ic.oid = i.indexrelid where i.indrelid = c.oid), '[]') as indexes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_tablespace ts on ts.oid = c.reltablespace
     where c.oid = ${oid}`);
  const view = v!;
  const matview = view.kind === 'm';
  const word = matview ? 'MATERIALIZED VIEW' : 'VIEW';
  const options = view.options?.length ? ` WITH (${view.options.join(', ')})` : '';
  const body = view.def.trim().replace(/;$/, '');
  const create = [
    matview
      ? `CREATE MATERIALIZED VIEW ${view.name}${options}${view.tablespace ? ` TABLESPACE ${ident(view.tablespace)}` : ''} AS ${body} WITH ${view.populated ? '' : 'NO '}DATA`
      : `CREATE VIEW ${view.name}${options} AS ${body}`,
    `ALTER ${word} ${view.name} OWNER TO ${view.owner}`,
  ];
  const grants = [...view.grants, ...view.columns.flatMap((c) => c.grants)];
  if (view.has_acl || grants.length) {
    // exactly the grants it had: none of what the new object got by default
    create.push(`REVOKE ALL ON ${view.name} FROM PUBLIC, ${view.owner}`, ...grants.map((g) => `GRANT ${g.replace(/ TO /, ` ON ${view.name} TO `)}`));
  }
  for (const c of view.columns) {
    if (c.default !== null) create.push(`ALTER VIEW ${view.name} ALTER COLUMN ${ident(c.name)} SET DEFAULT ${c.default}`);
    create.push(...commentOn(`COLUMN ${view.name}.${ident(c.name)}`, c.comment));
  }
  create.push(...commentOn(`${word} ${view.name}`, view.comment));
  for (const i of view.indexes) {
    create.push(i.def, ...commentOn(`INDEX ${view.name.replace(/\.[^.]+$/, '')}.${ident(i.name)}`, i.comment));
    if (i.clustered) create.push(`ALTER MATERIALIZED VIEW ${view.name} CLUSTER ON ${ident(i.name)}`);
  }
  // its own triggers (INSTEAD OF) and rules go with it when it is dropped
  const own = await q<{ kind: string; oid: string }>(`
    select 'trigger' as kind, t.oid::int8::text as oid from pg_trigger t where t.tgrelid = ${oid} and not t.tgisinternal
    union all
    select 'rule', r.oid::int8::text from pg_rewrite r where r.ev_class = ${oid} and r.rulename <> '_RETURN'`);
  const ownGrants = grants.filter((g) => !g.endsWith(` TO ${view.owner}`) && !g.includes(` TO ${view.owner} `)).length;
  const columnComments = view.columns.filter((c) => c.comment !== null).length;
  const withs = [
    `owner ${view.owner}`,
    ...(ownGrants ? [`${ownGrants} grant(s)`] : []),
    ...(view.comment !== null ? ['comment'] : []),
    ...(columnComments ? [`${columnComments} column comment(s)`] : []),
    ...(view.indexes.length ? [`${view.indexes.length} index(es)`] : []),
    ...(view.options?.length ? [`options ${view.options.join(', ')}`] : []),
  ];
  for (const o of own) {
    const part = o.kind === 'trigger' ? await captureTrigger(q, o.oid) : await captureRule(q, o.oid);
    create.push(...part.create);
    withs.push(`${o.kind} ${part.name.replace(/ on .*/, '')}`);
  }
  return {
    kind: matview ? 'materialized view' : 'view', name: view.name, drop: `DROP ${word} ${view.name}`, create, with: withs,
    ...(matview && view.populated ? { count: `select count(*)::int as n from ${view.name}` } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The run

/** What the operator reads: one line per object the run carried. */
export interface Carried {
  lines: string[];
}

/**
 * The drift of one run: `begin` before the first statement, each statement through `step`,
 * `finish` after the last, all in the run's transaction.
 */
export class DriftGuard {
  private disabled: { table: string; name: string; enabled: string }[] = [];
  private recreated = new Map<string, { kind: string; after: string; with: string[]; rows?: number }>();
  private failures: DriftProblem[] = [];
  private tag = '';
  private readonly q: Query;

  constructor(private readonly tx: Transaction, private readonly direction: Direction) {
    this.q = queryIn(tx);
  }

  /** Stops the run, naming everything it cannot carry; otherwise holds the operator's triggers for the chain's own statements. */
  async begin(tags: string[]): Promise<void> {
    const problems = await findProblems(this.q, this.direction, tags);
    if (problems.length) throw new DriftStop(this.direction, problems);
    for (const t of await unmanagedTriggers(this.q, await chainTables(this.q))) {
      if (t.enabled === 'D') continue;
      await this.q(`ALTER TABLE ${t.table} DISABLE TRIGGER ${ident(t.name)}`);
      this.disabled.push({ table: t.table_oid, name: t.name, enabled: t.enabled });
    }
  }

  /** The step of the chain the next statements belong to (for the report). */
  at(tag: string) {
    this.tag = tag;
  }

  /**
   * Runs one statement of the chain, in a savepoint. When PostgreSQL refuses it for objects that
   * read the columns it changes, those objects are set aside, the statement runs again, and they
   * are created again at once from their definitions as they stood.
   */
  async step<T>(statement: string, run: (tx: Transaction) => PromiseLike<T>): Promise<T> {
    const attempt = () => this.tx.transaction(async (inner) => run(inner));
    try {
      return await attempt();
    } catch (error) {
      // 0A000: "cannot alter type of a column used by a view or rule" (or a trigger, a policy);
      // 2BP01: "cannot drop … because other objects depend on it"
      if (!refusedForDependents(error)) throw error;
      const tables = await chainTables(this.q);
      const named = tables.filter((t) => statement.includes(`"${t.name}"`) || new RegExp(`(?<![\\w"])${t.name}(?![\\w"])`).test(statement));
      let aside = await this.setAside(named.length ? named : tables);
      let result: T;
      try {
        result = await attempt();
      } catch (again) {
        if (!named.length || !refusedForDependents(again)) throw again;
        aside = [...aside, ...(await this.setAside(tables))];
        result = await attempt();
      }
      await this.createAgain(aside);
      return result;
    }
  }

  private async setAside(tables: { oid: string }[]): Promise<SetAside[]> {
    const captured = await captureDependents(this.q, tables);
    for (const object of captured) await this.q(object.drop);
    return captured;
  }

  private async createAgain(aside: SetAside[]): Promise<void> {
    for (const object of [...aside].reverse()) {
      try {
        await this.tx.transaction(async (inner) => {
          for (const statement of object.create) await inner.execute(sql.raw(statement));
        });
      } catch (error) {
        const again = this.direction === 'up' ? 'migrating' : 'rolling back';
        this.failures.push({
          kind: object.kind, name: object.name,
          why: `it cannot be created again after ${this.tag} changed what it reads: ${driverMessage(error)}`,
          todo: `Drop it before ${again} (${object.drop};) and create it again on ${this.direction === 'up' ? 'the new' : 'the legacy'} schema afterwards.`,
        });
        continue;
      }
      const rows = object.count ? Number((await this.q<{ n: number }>(object.count))[0]?.n ?? 0) : undefined;
      const earlier = this.recreated.get(object.name);
      this.recreated.set(object.name, {
        kind: object.kind, after: earlier && earlier.after !== this.tag ? `${earlier.after}, ${this.tag}` : this.tag, with: object.with,
        ...(rows !== undefined ? { rows } : {}),
      });
    }
  }

  /** The operator's triggers as they were; stops the run when something could not be created again; what was carried. */
  async finish(): Promise<Carried> {
    for (const t of this.disabled) {
      const [found] = await this.q<{ table: string }>(`
        select tgrelid::regclass::text as "table" from pg_trigger where tgrelid = ${t.table} and tgname = ${literal(t.name)}`);
      if (found) await this.q(`ALTER TABLE ${found.table} ${ENABLE[t.enabled]} TRIGGER ${ident(t.name)}`);
    }
    if (this.failures.length) throw new DriftStop(this.direction, this.failures);
    return { lines: await this.carried() };
  }

  /** One line per object of the operator's on the chain's tables, under its name now. */
  private async carried(): Promise<string[]> {
    const q = this.q;
    const tables = await chainTables(q);
    if (!tables.length) return [];
    const m = managedNames();
    const lines: string[] = [];
    const fired = this.direction === 'up' ? 'the restructuring' : 'the rollback';
    for (const d of await dependents(q, tables)) {
      const r = this.recreated.get(d.name);
      if (r) {
        const what = r.rows !== undefined ? `created again and refreshed after ${r.after} (${r.rows} rows)` : `created again after ${r.after} changed what it reads`;
        lines.push(`${d.kind} ${d.name}: ${what}, with ${r.with.join(', ') || 'nothing else'}`);
      } else lines.push(`${d.kind} ${d.name}: kept (PostgreSQL carries it through the renames)`);
    }
    for (const t of await unmanagedTriggers(q, tables)) {
      const r = this.recreated.get(`${ident(t.name)} on ${t.table}`);
      lines.push(`trigger ${ident(t.name)} on ${t.table} (function ${t.function}): ${r ? `created again after ${r.after}` : 'kept'}; it did not fire for ${fired}'s own changes`);
    }
    const indexes = await q<{ name: string; table: string; constraint: boolean }>(`
      select ic.relname as name, i.indrelid::regclass::text as "table", exists (select from pg_constraint k where k.conindid = i.indexrelid) as "constraint"
        from pg_index i join pg_class ic on ic.oid = i.indexrelid where i.indrelid = any(${oidList(tables)}) order by 2, 1`);
    for (const i of indexes.filter((i) => !i.constraint && !m.indexes.has(i.name))) lines.push(`index ${ident(i.name)} on ${i.table}: kept`);
    const constraints = await q<{ name: string; table: string; type: string }>(`
      select c.conname as name, c.conrelid::regclass::text as "table", c.contype::text as type
        from pg_constraint c where c.conrelid = any(${oidList(tables)}) and c.contype in ('c', 'u', 'x', 'f') order by 2, 1`);
    for (const c of constraints.filter((c) => !m.constraints.has(c.name))) {
      lines.push(`${c.type === 'f' ? 'foreign key' : 'constraint'} ${ident(c.name)} on ${c.table}: kept`);
    }
    const columns = await q<{ table: string; name: string; relname: string }>(`
      select a.attrelid::regclass::text as "table", c.relname, a.attname as name from pg_attribute a join pg_class c on c.oid = a.attrelid
       where a.attrelid = any(${oidList(tables)}) and a.attnum > 0 and not a.attisdropped order by 1, a.attnum`);
    for (const c of columns.filter((c) => !m.columns.has(`${c.relname}.${c.name}`))) lines.push(`column ${c.table}.${ident(c.name)}: kept`);
    const keys = await q<{ name: string; table: string; references: string }>(`
      select c.conname as name, c.conrelid::regclass::text as "table", c.confrelid::regclass::text as "references"
        from pg_constraint c where c.contype = 'f' and c.confrelid = any(${oidList(tables)}) and not c.conrelid = any(${oidList(tables)}) order by 2, 1`);
    for (const k of keys) lines.push(`foreign key ${ident(k.name)} on ${k.table} -> ${k.references}: kept`);
    const publications = await q<{ name: string; tables: string[] | null; all: boolean }>(`
      select p.pubname as name, p.puballtables as all,
             (select array_agg(r.prrelid::regclass::text order by r.prrelid::regclass::text) from pg_publication_rel r
               where r.prpubid = p.oid and r.prrelid = any(${oidList(tables)})) as tables
        from pg_publication p order by 1`);
    for (const p of publications.filter((p) => p.all || p.tables?.length)) {
      lines.push(`publication ${ident(p.name)} (${p.all ? 'all tables' : p.tables!.join(', ')}): kept`);
    }
    const grants = await q<{ table: string; grantee: string; privileges: string }>(`
      select c.oid::regclass::text as "table", case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end as grantee,
             string_agg(a.privilege_type, ', ' order by a.privilege_type) as privileges
        from pg_class c cross join lateral aclexplode(c.relacl) a
       where c.oid = any(${oidList(tables)}) and a.grantee <> c.relowner group by 1, 2 order by 1, 2`);
    for (const g of grants) lines.push(`grant on ${g.table} to ${g.grantee} (${g.privileges}): kept`);
    const columnGrants = await q<{ table: string; grantee: string; n: number }>(`
      select c.oid::regclass::text as "table", case when a.grantee = 0 then 'PUBLIC' else quote_ident(pg_get_userbyid(a.grantee)) end as grantee, count(*)::int as n
        from pg_class c join pg_attribute at on at.attrelid = c.oid cross join lateral aclexplode(at.attacl) a
       where c.oid = any(${oidList(tables)}) and a.grantee <> c.relowner group by 1, 2 order by 1, 2`);
    for (const g of columnGrants) lines.push(`column grants on ${g.table} to ${g.grantee} (${g.n}): kept`);
    const comments = await q<{ table: string; n: number; own: boolean }>(`
      select c.oid::regclass::text as "table", obj_description(c.oid, 'pg_class') is not null as own,
             (select count(*)::int from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and col_description(c.oid, a.attnum) is not null) as n
        from pg_class c where c.oid = any(${oidList(tables)}) order by 1`);
    for (const c of comments.filter((c) => c.own || c.n)) {
      lines.push(`comments on ${c.table}: ${[c.own ? 'the table' : '', c.n ? `${c.n} column(s)` : ''].filter(Boolean).join(' and ')}, kept`);
    }
    return lines;
  }
}
