/** The report of a run: one line per object of the operator's on the chain's tables, under its name now, and what the run did with it. */
import { chainTables, dependents, ident, managedNames, oidList, unmanagedTriggers, type Query } from './catalog.js';
import type { Direction } from './problems.js';

/** An object the run created again: after which steps, with what, and (a materialized view) how many rows. */
export interface Recreated {
  kind: string;
  after: string;
  with: string[];
  rows?: number;
}

/** One line per object of the operator's on the chain's tables, under its name now. */
export async function carriedLines(q: Query, direction: Direction, recreated: ReadonlyMap<string, Recreated>): Promise<string[]> {
  const tables = await chainTables(q);
  if (!tables.length) return [];
  const m = managedNames();
  const lines: string[] = [];
  const fired = direction === 'up' ? 'the restructuring' : 'the rollback';
  for (const d of await dependents(q, tables)) {
    const r = recreated.get(d.name);
    if (r) {
      const what =
        r.rows !== undefined
          ? `created again and refreshed after ${r.after} (${r.rows} rows)`
          : `created again after ${r.after} changed what it reads`;
      lines.push(`${d.kind} ${d.name}: ${what}, with ${r.with.join(', ') || 'nothing else'}`);
    } else lines.push(`${d.kind} ${d.name}: kept (PostgreSQL carries it through the renames)`);
  }
  for (const t of await unmanagedTriggers(q, tables)) {
    const r = recreated.get(`${ident(t.name)} on ${t.table}`);
    lines.push(
      `trigger ${ident(t.name)} on ${t.table} (function ${t.function}): ${r ? `created again after ${r.after}` : 'kept'}; it did not fire for ${fired}'s own changes`,
    );
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
