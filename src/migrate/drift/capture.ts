/**
 * Setting aside what PostgreSQL refuses a statement for: each object that reads the columns it
 * changes, read back with PostgreSQL's own definition as it stands, and the statements that create
 * it again with everything that goes with it.
 */
import { ident, literal, oidList, type Query } from './catalog.js';

export interface SetAside {
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
export async function captureDependents(q: Query, tables: { oid: string }[]): Promise<SetAside[]> {
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
export const commentOn = (what: string, comment: string | null) => (comment === null ? [] : [`COMMENT ON ${what} IS ${literal(comment)}`]);
export const ENABLE: Record<string, string> = { O: 'ENABLE', D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

export async function captureTrigger(q: Query, oid: string): Promise<SetAside> {
  const [t] = await q<{ name: string; table: string; def: string; enabled: string; comment: string | null }>(`
    select t.tgname as name, t.tgrelid::regclass::text as "table", pg_get_triggerdef(t.oid) as def, t.tgenabled::text as enabled,
           obj_description(t.oid, 'pg_trigger') as comment
      from pg_trigger t where t.oid = ${oid}`);
  const on = `${ident(t!.name)} ON ${t!.table}`;
  return {
    kind: 'trigger',
    name: `${ident(t!.name)} on ${t!.table}`,
    drop: `DROP TRIGGER ${on}`,
    create: [
      t!.def,
      ...(t!.enabled !== 'O' ? [`ALTER TABLE ${t!.table} ${ENABLE[t!.enabled]} TRIGGER ${ident(t!.name)}`] : []),
      ...commentOn(`TRIGGER ${on}`, t!.comment),
    ],
    with: t!.comment === null ? [] : ['comment'],
  };
}

export async function captureRule(q: Query, oid: string): Promise<SetAside> {
  const [r] = await q<{ name: string; table: string; def: string; enabled: string; comment: string | null }>(`
    select r.rulename as name, r.ev_class::regclass::text as "table", pg_get_ruledef(r.oid) as def, r.ev_enabled::text as enabled,
           obj_description(r.oid, 'pg_rewrite') as comment
      from pg_rewrite r where r.oid = ${oid}`);
  const on = `${ident(r!.name)} ON ${r!.table}`;
  return {
    kind: 'rule',
    name: `${ident(r!.name)} on ${r!.table}`,
    drop: `DROP RULE ${on}`,
    create: [
      r!.def.replace(/;\s*$/, ''),
      ...(r!.enabled !== 'O' ? [`ALTER TABLE ${r!.table} ${ENABLE[r!.enabled]} RULE ${ident(r!.name)}`] : []),
      ...commentOn(`RULE ${on}`, r!.comment),
    ],
    with: r!.comment === null ? [] : ['comment'],
  };
}

export async function capturePolicy(q: Query, oid: string): Promise<SetAside> {
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
  return {
    kind: 'policy',
    name: `${ident(p!.name)} on ${p!.table}`,
    drop: `DROP POLICY ${on}`,
    create: [p!.create, ...commentOn(`POLICY ${on}`, p!.comment)],
    with: p!.comment === null ? [] : ['comment'],
  };
}

/** A view or materialized view, as PostgreSQL defines it now, with everything that goes with it. */
export async function captureRelation(q: Query, oid: string): Promise<SetAside> {
  const [v] = await q<{
    name: string;
    kind: string;
    def: string;
    options: string[] | null;
    owner: string;
    populated: boolean;
    tablespace: string | null;
    comment: string | null;
    has_acl: boolean;
    grants: string[];
    columns: { name: string; comment: string | null; default: string | null; grants: string[] }[];
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
    create.push(
      `REVOKE ALL ON ${view.name} FROM PUBLIC, ${view.owner}`,
      ...grants.map((g) => `GRANT ${g.replace(/ TO /, ` ON ${view.name} TO `)}`),
    );
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
    kind: matview ? 'materialized view' : 'view',
    name: view.name,
    drop: `DROP ${word} ${view.name}`,
    create,
    with: withs,
    ...(matview && view.populated ? { count: `select count(*)::int as n from ${view.name}` } : {}),
  };
}
