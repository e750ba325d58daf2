/**
 * Read a database's schema from the catalogue, and fingerprint its data, so that tests compare
 * databases with deepEqual instead of by eye. Tables the chain does not manage
 * (`_prisma_migrations`, the drizzle ledger) are left out of the schema.
 */
import type postgres from 'postgres';

/** Runs plain SQL and returns the rows: postgres.js (`sql.unsafe`) or PGlite (`query().rows`). */
export type Query = (text: string) => Promise<Record<string, unknown>[]>;
export const viaPostgres =
  (sql: postgres.Sql): Query =>
  async (text) => [...(await sql.unsafe(text))];

const unmanaged = `('_prisma_migrations')`;

export interface Schema {
  tables: string[];
  columns: Record<string, unknown>[];
  constraints: Record<string, unknown>[];
  indexes: Record<string, unknown>[];
  sequences: Record<string, unknown>[];
  triggers: Record<string, unknown>[];
  unlogged: string[];
}

export async function readSchema(target: postgres.Sql | Query): Promise<Schema> {
  const sql: Query = 'unsafe' in target ? viaPostgres(target) : target;
  const tables = await sql(`
    select relname as name from pg_class
     where relnamespace = 'public'::regnamespace and relkind in ('r', 'p', 'v', 'm')
       and relname not in ${unmanaged} order by 1`);
  const columns = await sql(`
    select c.relname as table, a.attname as column,
           -- the column's place among the live ones (a dropped column keeps its attnum)
           (row_number() over (partition by c.relname order by a.attnum))::int as position,
           format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
           pg_get_expr(d.adbin, d.adrelid) as default, a.attidentity as identity, a.attgenerated as generated
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid and c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where a.attnum > 0 and not a.attisdropped and c.relname not in ${unmanaged}
     order by 1, 3`);
  const constraints = await sql(`
    select conrelid::regclass::text as table, conname as name, contype as type,
           pg_get_constraintdef(oid) as definition, convalidated as validated,
           condeferrable as deferrable
      from pg_constraint
     where connamespace = 'public'::regnamespace and contype <> 'n' and conrelid::regclass::text not in ${unmanaged}
     order by 1, 2`);
  const indexes = await sql(`
    select tablename as table, indexname as name, indexdef as definition
      from pg_indexes where schemaname = 'public' and tablename not in ${unmanaged}
     order by 1, 2`);
  const sequences = await sql(`
    select s.sequencename as name, s.data_type::text as type, s.start_value::text as start,
           s.increment_by::text as increment, s.min_value::text as min, s.max_value::text as max, s.cycle,
           (select d.refobjid::regclass::text || '.' || a.attname
              from pg_depend d join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
             where d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass and d.deptype in ('a', 'i')) as owned_by
      from pg_sequences s where s.schemaname = 'public' order by 1`);
  const triggers = await sql(`
    select c.relname as table, t.tgname as name, pg_get_triggerdef(t.oid) as definition
      from pg_trigger t join pg_class c on c.oid = t.tgrelid and c.relnamespace = 'public'::regnamespace
     where not t.tgisinternal order by 1, 2`);
  const unlogged = await sql(`
    select relname as name from pg_class
     where relnamespace = 'public'::regnamespace and relkind = 'r' and relpersistence = 'u' order by 1`);
  return {
    tables: tables.map((t) => t.name as string),
    triggers: [...triggers],
    unlogged: unlogged.map((t) => t.name as string),
    columns: [...columns],
    constraints: [...constraints],
    indexes: [...indexes],
    sequences: [...sequences],
  };
}

/**
 * Every table of the public schema with an md5 over its rows (in a stable order). `leaveOut` names
 * columns, per table, that the fingerprint ignores.
 */
export async function dataFingerprint(sql: postgres.Sql, leaveOut: Record<string, string[]> = {}): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' order by 1`;
  const result: Record<string, string> = {};
  for (const { name } of tables) {
    const columns = leaveOut[name];
    const row = columns?.length ? `(to_jsonb(t) - array[${columns.map((c) => `'${c}'`).join(', ')}])::text` : 't::text';
    const [found] = await sql.unsafe(
      `select count(*)::text || ':' || coalesce(md5(string_agg(${row}, E'\\n' order by ${row})), '') as f from "${name}" t`,
    );
    result[name] = found!.f;
  }
  return result;
}

/** Schema (including unmanaged tables), data and whether the drizzle ledger exists: "as it was". */
export async function wholeState(sql: postgres.Sql) {
  const [drizzle] = await sql`select to_regnamespace('drizzle') is not null as exists`;
  const everything = await sql`
    select c.relname, c.relkind, pg_get_expr(d.adbin, d.adrelid) as default, a.attname,
           format_type(a.atttypid, a.atttypmod) as type, a.attnotnull
      from pg_class c
      left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where c.relnamespace = 'public'::regnamespace order by 1, 4`;
  const constraints = await sql`
    select conrelid::regclass::text as table, conname, pg_get_constraintdef(oid) as def
      from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`;
  return { ledger: drizzle!.exists, relations: [...everything], constraints: [...constraints], data: await dataFingerprint(sql) };
}
