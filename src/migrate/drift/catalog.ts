/**
 * What the drift guard reads of PostgreSQL's catalog: the chain's tables, the names the chain
 * itself gives, and the operator's triggers, functions and the objects that read the chain's tables.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { sql, type SQL } from 'drizzle-orm';
import { MIGRATIONS_FOLDER } from '../../db/migrations-folder.js';
import { chainTableNames } from './plan.js';

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
export const queryIn =
  (tx: Pick<Transaction, 'execute'>): Query =>
  async <T>(text: string) => {
    // the row type is the caller's word for its own SQL; the shape is either driver's
    const result = (await tx.execute(sql.raw(text))) as T[] | { rows: T[] };
    return Array.isArray(result) ? result : result.rows;
  };
/**
 * Names the chain itself gives (every snapshot's tables, columns, indexes and constraints, and the
 * triggers and functions its SQL creates): what is not among them on its tables is the operator's.
 */
export interface Managed {
  columns: Set<string>;
  indexes: Set<string>;
  constraints: Set<string>;
  triggers: Set<string>;
  functions: Set<string>;
}

let managed: Managed | undefined;
export function managedNames(): Managed {
  if (managed) return managed;
  const m: Managed = { columns: new Set(), indexes: new Set(), constraints: new Set(), triggers: new Set(), functions: new Set() };
  for (const file of readdirSync(`${MIGRATIONS_FOLDER}/meta`).filter((f) => f.endsWith('_snapshot.json'))) {
    // drizzle-kit's snapshot of this build's chain, read as the shape it writes
    const snapshot = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/${file}`, 'utf8')) as {
      tables: Record<
        string,
        {
          name: string;
          columns: Record<string, { name: string }>;
          indexes: Record<string, unknown>;
          foreignKeys: Record<string, unknown>;
          compositePrimaryKeys: Record<string, unknown>;
          uniqueConstraints: Record<string, unknown>;
          checkConstraints?: Record<string, unknown>;
        }
      >;
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
    ...readdirSync(MIGRATIONS_FOLDER)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => `${MIGRATIONS_FOLDER}/${f}`),
    ...readdirSync(`${MIGRATIONS_FOLDER}/down`)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => `${MIGRATIONS_FOLDER}/down/${f}`),
  ];
  for (const file of sqlFiles) {
    const text = readFileSync(file, 'utf8');
    for (const [, name] of text.matchAll(/CREATE TRIGGER "?(\w+)"?/g)) m.triggers.add(name!);
    for (const [, name] of text.matchAll(/CREATE (?:OR REPLACE )?FUNCTION "?(\w+)"?\s*\(/g)) m.functions.add(name!);
    for (const [, name] of text.matchAll(
      /(?:CREATE (?:UNIQUE )?INDEX|RENAME TO|RENAME CONSTRAINT "?\w+"? TO|ADD CONSTRAINT|CONSTRAINT) "?(\w+)"?/g,
    )) {
      m.indexes.add(name!);
      m.constraints.add(name!);
    }
    for (const [, name] of text.matchAll(/"(\w+_pkey)"/g)) m.constraints.add(name!);
  }
  return (managed = m);
}

export const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
export const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);
export const tableList = (names: string[]) => `array[${names.map(literal).join(', ')}]::text[]`;
/** The chain's tables present now: oid and name. */
export async function chainTables(q: Query): Promise<{ oid: string; name: string }[]> {
  return q(`select c.oid::int8::text as oid, c.relname as name from pg_class c
             where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and c.relname = any(${tableList(chainTableNames())})`);
}
export const oidList = (tables: { oid: string }[]) => `array[${tables.map((t) => t.oid).join(', ') || '0'}]::oid[]`;

export interface TriggerRow {
  table_oid: string;
  table: string;
  name: string;
  function: string;
  function_oid: string;
  args: string[];
  enabled: string;
}

export interface FunctionRow {
  oid: string;
  name: string;
  kind: string;
  source: string;
}

export interface DependentRow {
  kind: string;
  name: string;
  reads: { table: string; column: string | null }[];
  via: string | null;
}

export async function unmanagedTriggers(q: Query, tables: { oid: string }[]): Promise<TriggerRow[]> {
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
export async function operatorFunctions(q: Query): Promise<FunctionRow[]> {
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
export async function dependents(q: Query, tables: { oid: string }[]): Promise<DependentRow[]> {
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
export const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name);
