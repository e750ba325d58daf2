/**
 * Drift: a legacy database two years in production holds what its DBA added on the chain's
 * tables. `npm run db:migrate` and `npm run db:rollback` carry what can be carried exactly (views
 * and materialized views on the money columns with their owner, grants and comments, triggers,
 * indexes, columns, keys, grants, comments, publications) and the objects still work afterwards;
 * what cannot be carried (a trigger or function whose body names legacy names, a view on a table
 * the chain drops) stops the run at once, naming every such object with what to do, and the
 * database is as it was.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type tap from 'tap';
import type postgres from 'postgres';
import { openPglite } from '../../src/db/client.js';
import { APPLIED_WHOLE_CHAIN, dbMigrate, dbRollback, type CommandResult } from '../helpers/commands.js';
import { ADMIN_URL, connect, legacyTemplate, scratchDatabase, scratchWithClient } from '../helpers/databases.js';
import { pgliteFolder } from '../helpers/pglite.js';
import { wholeState } from '../helpers/catalog.js';

// roles are the cluster's: named for this run, dropped at its end
const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
const READER = `bo_drift_reader_${suffix}`;
const OWNER = `bo_drift_owner_${suffix}`;

/** What the DBA and ops people added over two years, on the legacy names. */
const DRIFT = `
  create extension if not exists pg_trgm;
  create index "Order_paid_idx" on "Order" ("orderDate") where status = '5';
  create index "Order_phone_date_idx" on "Order" ("customerPhone", "orderDate");
  create index "Order_customerName_trgm" on "Order" using gin ("customerName" gin_trgm_ops);
  alter table "Order" add column "marginNote" text;
  comment on table "Order" is 'orders as SalesDrive sends them';
  comment on column "Order"."totalPrice" is 'UAH, with delivery';
  grant select on "Order", "OrderHistory" to ${READER};
  grant select on "Order" to ${OWNER};
  grant select ("id", "email") on "User" to ${READER};

  create view order_revenue as
    select status, count(*) as orders, sum("totalPrice") as revenue, max("updatedAt") as last_change from "Order" group by status;
  alter view order_revenue owner to ${OWNER};
  grant select on order_revenue to ${READER};
  comment on view order_revenue is 'revenue per status, for the accountant';
  comment on column order_revenue.revenue is 'UAH';
  create view busy_statuses with (security_barrier) as select status, orders from order_revenue where orders > 100;
  grant select on busy_statuses to ${READER};

  create materialized view daily_revenue as
    select date_trunc('day', "orderDate") as day, count(*) as orders, sum("totalPrice") as revenue from "Order" group by 1;
  create unique index daily_revenue_day on daily_revenue (day);
  alter materialized view daily_revenue owner to ${OWNER};
  grant select on daily_revenue to ${READER};
  comment on materialized view daily_revenue is 'refreshed nightly';

  create table audit_log (id bigserial primary key, tbl text not null, op text not null, row_id text, at timestamptz not null default now(), new jsonb);
  create function audit_row() returns trigger language plpgsql as $$
  begin
    insert into audit_log (tbl, op, row_id, new) values (TG_TABLE_NAME, TG_OP, NEW.id::text, to_jsonb(NEW));
    return NEW;
  end $$;
  create trigger order_status_audit after update on "Order" for each row
    when (old.status is distinct from new.status) execute function audit_row();
  create trigger user_audit after update on "User" for each row execute function audit_row();

  create table invoices (id serial primary key, order_id text not null references "Order" (id), amount numeric(12, 2));
  insert into invoices (order_id, amount) select id, 100 from "Order" order by id limit 3;
  create publication ${READER}_reports for table "Order", "OrderHistory";
`;

/** What cannot be carried: bodies naming legacy names, a view on a table the chain drops. */
const BROKEN = `
  create function touch_updated_at() returns trigger language plpgsql as $$
  begin
    NEW."updatedAt" := now();
    return NEW;
  end $$;
  create trigger order_touch before update on "Order" for each row execute function touch_updated_at();
  create function order_total(p_id text) returns double precision language plpgsql as $$
  begin
    -- the order's total, for the invoices
    return (select "totalPrice" from "Order" where id = p_id);
  end $$;
  create view token_report as select "userId", count(*) as tokens from refresh_tokens group by 1;
`;

/** The operator's own objects, as the catalogue holds them: definitions, owners, grants, comments. */
async function driftState(sql: postgres.Sql) {
  const relations = await sql`
    select c.relname, c.relkind::text, pg_get_userbyid(c.relowner) as owner, c.relacl::text as acl, c.reloptions,
           obj_description(c.oid, 'pg_class') as comment, c.relispopulated,
           case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as definition,
           -- an index's own column names are PostgreSQL's (they follow a rebuild, not a rename): left out
           (select array_agg(a.attname || ': ' || coalesce(col_description(c.oid, a.attnum), '') || ' ' || coalesce(a.attacl::text, '') order by a.attnum)
              from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and c.relkind <> 'i') as columns,
           case when c.relkind = 'i' then pg_get_indexdef(c.oid) end as index
      from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'm', 'i') order by 1`;
  const triggers = await sql`
    select tgrelid::regclass::text as "table", tgname, pg_get_triggerdef(oid) as definition, tgenabled::text as enabled
      from pg_trigger where not tgisinternal order by 1, 2`;
  const functions = await sql`select proname, prosrc from pg_proc where pronamespace = 'public'::regnamespace and prolang <> 13 order by 1`;
  const publications = await sql`select pubname, tablename from pg_publication_tables order by 1, 2`;
  return { relations: [...relations], triggers: [...triggers], functions: [...functions], publications: [...publications] };
}

const figures = (sql: postgres.Sql) => sql`
  select 'order_revenue' as view, status as key, orders::int, round(revenue::numeric, 2)::text as revenue,
         to_char(last_change at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as last_change from order_revenue
  union all select 'busy_statuses', status, orders::int, null, null from busy_statuses
  union all select 'daily_revenue', to_char(day, 'YYYY-MM-DD'), orders::int, round(revenue::numeric, 2)::text, null from daily_revenue
  order by 1, 2`;

/** What the read-only role reads, as that role. */
const asReader = (sql: postgres.Sql, query: string) =>
  sql.begin(async (tx) => {
    await tx.unsafe(`set local role ${READER}`);
    return [...(await tx.unsafe(query))];
  });

const admin = connect(ADMIN_URL);
await admin.unsafe(`create role ${READER} nologin; create role ${OWNER} nologin`);
// the drifted legacy database every test copies
const drifted = await scratchDatabase(await legacyTemplate());
{
  const sql = connect(drifted.url);
  try {
    await sql.unsafe(DRIFT);
  } finally {
    await sql.end();
  }
}
t.teardown(async () => {
  await drifted.drop();
  await admin.unsafe(`drop role if exists ${READER}; drop role if exists ${OWNER}`);
  await admin.end();
});

/** A run stopped on three objects it cannot carry, naming each with what to do: `lines` all in its output. */
function assertStopped(
  t: Pick<typeof tap, 'equal' | 'match' | 'ok'>,
  result: CommandResult,
  what: 'Migration' | 'Rollback',
  way: 'over' | 'back',
  lines: string[],
) {
  t.equal(result.code, 1, 'exits 1');
  t.match(result.stderr, new RegExp(`${what} of PostgreSQL \\(.*\\) stopped; nothing was changed\\.`));
  t.match(result.stderr, new RegExp(`3 object\\(s\\) that the migration chain does not manage cannot be carried ${way} as they are:`));
  for (const line of lines) t.ok(result.stderr.includes(line), `names ${line.slice(0, 70)}…`);
}

t.test('migrate and roll back a drifted database: every object carried, and working', async (t) => {
  const { sql, url } = await scratchWithClient(t, drifted.name);
  const original = await driftState(sql);
  const before = await figures(sql);
  t.ok(before.length > 10, `${before.length} figures to compare`);

  const up = await dbMigrate({ url });
  t.equal(up.code, 0, up.stderr);
  t.match(up.stdout, APPLIED_WHOLE_CHAIN);
  t.match(up.stdout, /Every row is accounted for\./);
  for (const line of [
    `materialized view public.daily_revenue: created again and refreshed after 0002_restructure (${before.filter((f) => f.view === 'daily_revenue').length} rows), with owner ${OWNER}, 1 grant(s), comment, 1 index(es)`,
    `view public.order_revenue: created again after 0002_restructure changed what it reads, with owner ${OWNER}, 1 grant(s), comment, 1 column comment(s)`,
    'view public.busy_statuses: created again after 0002_restructure changed what it reads, with owner postgres, 1 grant(s), options security_barrier=true',
    "trigger order_status_audit on orders (function public.audit_row()): created again after 0002_restructure; it did not fire for the restructuring's own changes",
    "trigger user_audit on users (function public.audit_row()): kept; it did not fire for the restructuring's own changes",
    'index "Order_customerName_trgm" on orders: kept',
    'index "Order_paid_idx" on orders: kept',
    'index "Order_phone_date_idx" on orders: kept',
    'column orders."marginNote": kept',
    'foreign key invoices_order_id_fkey on invoices -> orders: kept',
    `publication ${READER}_reports (order_history, orders): kept`,
    `grant on orders to ${READER} (SELECT): kept`,
    `column grants on users to ${READER} (2): kept`,
    'comments on orders: the table and 1 column(s), kept',
  ]) {
    t.ok(up.stdout.includes(`  ${line}\n`), `reports ${line.slice(0, 70)}…`);
  }

  // the views' figures: the same to the kopeck (money is numeric(12,2) now), the same instants
  t.same(await figures(sql), before, 'the views and the materialized view give the same figures');
  const [revenue] =
    await sql`select format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = 'order_revenue'::regclass and attname = 'revenue'`;
  t.equal(revenue!.type, 'numeric', 'a sum of numeric(12,2) money');
  t.match(
    await sql`select pg_get_viewdef('order_revenue'::regclass) as d`,
    [{ d: /sum\(orders\.total_price\) AS revenue/ }],
    'on the new names',
  );
  const owners = await sql`select relname, pg_get_userbyid(relowner) as owner, obj_description(oid, 'pg_class') as comment from pg_class
                            where relname in ('order_revenue', 'daily_revenue') order by 1`;
  t.same(owners, [
    { relname: 'daily_revenue', owner: OWNER, comment: 'refreshed nightly' },
    { relname: 'order_revenue', owner: OWNER, comment: 'revenue per status, for the accountant' },
  ]);
  t.same(await sql`select col_description('order_revenue'::regclass, 3) as c`, [{ c: 'UAH' }]);
  t.same((await asReader(sql, 'select count(*)::int as n from order_revenue')).length, 1, 'the read-only role reads the view');
  t.same(await asReader(sql, 'select count(*)::int as n from busy_statuses'), [
    { n: before.filter((f) => f.view === 'busy_statuses').length },
  ]);
  t.same(await asReader(sql, 'select count(*)::int as n from daily_revenue where day is not null'), [
    { n: before.filter((f) => f.view === 'daily_revenue' && f.key).length },
  ]);
  t.same(await asReader(sql, 'select count(*)::int as n from orders'), [{ n: 800 }], 'and the table, renamed');
  t.same(await asReader(sql, 'select count(email)::int as n from users'), [{ n: 35 }], 'and the columns granted');
  t.same(await sql`select indexname from pg_indexes where tablename = 'daily_revenue'`, [{ indexname: 'daily_revenue_day' }]);
  t.match(await sql`select indexdef from pg_indexes where indexname = 'Order_paid_idx'`, [
    { indexdef: /\(order_date\) WHERE \(status = '5'::text\)/ },
  ]);
  t.match(await sql`select indexdef from pg_indexes where indexname = 'Order_customerName_trgm'`, [
    { indexdef: /gin \(customer_name gin_trgm_ops\)/ },
  ]);

  // the triggers did not fire for the chain's moves (0002 and 0005 update users), and fire now
  t.same(await sql`select count(*)::int as n from audit_log`, [{ n: 0 }], 'no audit row for the restructuring itself');
  const [order] = await sql`select id, status from orders where status <> '6' order by id limit 1`;
  await sql`update orders set status = '6' where id = ${order!.id}`;
  await sql`update orders set customer_name = customer_name where id = ${order!.id}`;
  const audited = await sql`select tbl, op, row_id, new->>'status' as status, new ? 'total_price' as new_names from audit_log`;
  t.same(
    audited,
    [{ tbl: 'orders', op: 'UPDATE', row_id: order!.id, status: '6', new_names: true }],
    'a status change writes its audit row; another change none',
  );
  await sql`update users set name = name where id = 1`;
  t.same(await sql`select count(*)::int as n from audit_log where tbl = 'users'`, [{ n: 1 }], 'the users trigger fires again');
  t.same(
    await sql`select tgname, tgenabled::text from pg_trigger where tgname in ('order_status_audit', 'user_audit') order by 1`,
    [
      { tgname: 'order_status_audit', tgenabled: 'O' },
      { tgname: 'user_audit', tgenabled: 'O' },
    ],
    'enabled as they were',
  );
  t.same(await sql`select tablename from pg_publication_tables where pubname = ${`${READER}_reports`} order by 1`, [
    { tablename: 'order_history' },
    { tablename: 'orders' },
  ]);
  const refused = await sql`insert into invoices (order_id) values ('no such order')`.then(
    () => 'accepted',
    (e: { code?: string }) => e.code,
  );
  t.equal(refused, '23503', 'the foreign key from invoices holds');

  // and back: the operator's objects as they were, on the legacy names
  await sql`delete from audit_log`;
  const changed = await figures(sql);
  const down = await dbRollback({ url });
  t.equal(down.code, 0, down.stderr);
  t.match(down.stdout, /Objects the chain does not manage, on its tables, carried back \(\d+\):/);
  t.ok(
    down.stdout.includes(
      `  view public.order_revenue: created again after 0002_restructure changed what it reads, with owner ${OWNER}, 1 grant(s), comment, 1 column comment(s)\n`,
    ),
  );
  t.same(await figures(sql), changed, 'the same figures, on the legacy schema');
  const back = await driftState(sql);
  t.same(back.triggers, original.triggers, 'the triggers, as they were');
  t.same(back.publications, original.publications, 'the publication');
  for (const relation of original.relations) {
    const now = back.relations.find((r) => r.relname === relation.relname);
    t.same(now, relation, `${relation.relname}: definition, owner, grants, comments as they were`);
  }
  await sql`update "Order" set status = '7' where id = ${order!.id}`;
  t.same(
    await sql`select tbl, new->>'status' as status, new ? 'totalPrice' as legacy_names from audit_log`,
    [{ tbl: 'Order', status: '7', legacy_names: true }],
    'the audit trigger works on the legacy table',
  );
});

t.test('what cannot be carried stops the migration before anything changes, naming every object with what to do', async (t) => {
  const { sql, url } = await scratchWithClient(t, drifted.name);
  await sql.unsafe(BROKEN);
  const state = await wholeState(sql);
  const objects = await driftState(sql);

  const result = await dbMigrate({ url });
  assertStopped(t, result, 'Migration', 'over', [
    'trigger order_touch on "Order" (function public.touch_updated_at()): its function public.touch_updated_at() names "updatedAt" → updated_at: it would fail at its first use.',
    'Drop it before migrating (DROP TRIGGER order_touch ON "Order";), then create the function again with the names changed as above, and the trigger, once migrated.',
    'function public.order_total(p_id text): its body names "Order" → orders, "totalPrice" → total_price: it would fail at its first use.',
    'Drop it before migrating (DROP FUNCTION public.order_total(p_id text);)',
    "view public.token_report: it reads refresh_tokens, which 0002_restructure drops (each user's unexpired refresh token moves into users.sessions).",
    'Drop it before migrating (DROP VIEW public.token_report;)',
  ]);
  t.notMatch(result.stderr, /order_revenue|daily_revenue|audit_row/, 'nothing that can be carried');
  t.match(result.stderr, /HINT: .*then run npm run db:migrate again/);
  t.same(await wholeState(sql), state, 'schema and rows as they were, no ledger');
  t.same(await driftState(sql), objects, "and the operator's objects");

  // the operator does what it says: drops them, migrates, creates them again on the new names
  await sql.unsafe(
    `drop trigger order_touch on "Order"; drop function touch_updated_at(); drop function order_total(text); drop view token_report`,
  );
  const again = await dbMigrate({ url });
  t.equal(again.code, 0, again.stderr);
  await sql.unsafe(`
    create function touch_updated_at() returns trigger language plpgsql as $$ begin NEW.updated_at := now(); return NEW; end $$;
    create trigger order_touch before update on orders for each row execute function touch_updated_at();
    create function order_total(p_id text) returns numeric language sql as $$ select total_price from orders where id = p_id $$;`);
  const [order] =
    await sql`select id, total_price::text as total from orders where updated_at < now() - interval '1 day' order by id limit 1`;
  await sql`update orders set status_text = status_text where id = ${order!.id}`;
  t.same(
    await sql`select updated_at > now() - interval '1 minute' as touched from orders where id = ${order!.id}`,
    [{ touched: true }],
    'the fixed trigger sets updated_at',
  );
  t.same(
    await sql`select order_total(${order!.id})::text as total`,
    [{ total: order!.total }],
    "the fixed function gives the order's total",
  );

  // the same holds going back: the new names in their bodies stop the rollback, untouched
  await sql.unsafe(`create view session_report as select id, jsonb_array_length(sessions) as sessions from users`);
  const migrated = await wholeState(sql);
  const ledger = await sql`select * from drizzle.__drizzle_migrations order by id`;
  const back = await dbRollback({ url });
  assertStopped(t, back, 'Rollback', 'back', [
    'trigger order_touch on orders (function public.touch_updated_at()): its function public.touch_updated_at() names updated_at → "updatedAt"',
    'Drop it before rolling back (DROP TRIGGER order_touch ON orders;)',
    'function public.order_total(p_id text): its body names orders → "Order", total_price → "totalPrice"',
    'view public.session_report: it reads users.sessions, which 0005_sessions drops (one refresh-token slot per user again).',
  ]);
  t.same(await wholeState(sql), migrated, 'schema and rows as they were');
  t.same(await sql`select * from drizzle.__drizzle_migrations order by id`, ledger, 'and the ledger');
});

t.test('a view that cannot be created again on the new types stops the migration at its end, with the others', async (t) => {
  const { sql, url } = await scratchWithClient(t, drifted.name);
  // a function of a plain timestamp: "orderDate" becomes timestamptz, which does not cast to it implicitly
  await sql.unsafe(`
    create function legacy_day(timestamp) returns date language sql immutable as $$ select $1::date $$;
    create view order_days as select id, legacy_day("orderDate") as day from "Order";`);
  const state = await wholeState(sql);
  const result = await dbMigrate({ url });
  t.equal(result.code, 1, 'exits 1');
  t.match(result.stderr, /1 object\(s\) that the migration chain does not manage cannot be carried over as they are:/);
  t.match(
    result.stderr,
    /view public\.order_days: it cannot be created again after 0002_restructure changed what it reads: function legacy_day\(timestamp with time zone\) does not exist\./,
  );
  t.match(result.stderr, /Drop it before migrating \(DROP VIEW public\.order_days;\)/);
  t.same(await wholeState(sql), state, 'the database as it was');
});

t.test('PGlite: the same on the embedded database', async (t) => {
  const dataDir = await pgliteFolder(t, 'legacy');
  const withPglite = async <T>(fn: (pg: Awaited<ReturnType<typeof openPglite>>) => Promise<T>) => {
    const pg = await openPglite(dataDir);
    try {
      return await fn(pg);
    } finally {
      await pg.close();
    }
  };
  const revenue = `select status, round(revenue::numeric, 2)::text as revenue from order_revenue order by 1`;
  const before = await withPglite(async (pg) => {
    await pg.exec(`
      create view order_revenue as select status, sum("totalPrice") as revenue from "Order" group by status;
      create materialized view product_costs as select "categoryName", sum("costPerItem") as cost from "Product" group by 1;
      create table audit_log (tbl text, new jsonb);
      create function audit_row() returns trigger language plpgsql as $$ begin insert into audit_log values (TG_TABLE_NAME, to_jsonb(NEW)); return NEW; end $$;
      create trigger order_status_audit after update on "Order" for each row when (old.status is distinct from new.status) execute function audit_row();`);
    return (await pg.query(revenue)).rows;
  });
  const up = await dbMigrate({ dataDir });
  t.equal(up.code, 0, up.stderr);
  t.match(up.stdout, /view public\.order_revenue: created again after 0002_restructure/);
  t.match(up.stdout, /materialized view public\.product_costs: created again and refreshed after 0002_restructure \(\d+ rows\)/);
  await withPglite(async (pg) => {
    t.same((await pg.query(revenue)).rows, before, 'the same figures');
    await pg.exec(`update orders set status = '8' where id = (select min(id) from orders where status <> '8')`);
    t.same(
      (await pg.query(`select tbl, new->>'status' as status from audit_log`)).rows,
      [{ tbl: 'orders', status: '8' }],
      'the audit trigger fires',
    );
  });
  const down = await dbRollback({ dataDir });
  t.equal(down.code, 0, down.stderr);
  await withPglite(async (pg) => {
    t.same((await pg.query(`select count(*)::int as n from product_costs`)).rows.length, 1, 'the materialized view is back');
    t.match(
      (await pg.query<{ d: string }>(`select pg_get_viewdef('order_revenue'::regclass) as d`)).rows,
      [{ d: /sum\(("Order"\.)?"totalPrice"\) AS revenue\s+FROM "Order"/ }],
      'on the legacy names',
    );
  });
});
