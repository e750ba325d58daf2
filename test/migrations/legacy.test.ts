/**
 * The legacy backup restructured by `npm run db:migrate`: every row carried over with its content,
 * the refresh tokens moved, the dropped tables and duplicate indexes gone, and a second run that
 * changes nothing. Also: an empty database migrated to the very same schema.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { APPLIED_WHOLE_CHAIN, CHAIN, dbMigrate, dbRollback } from '../helpers/commands.js';
import { connect, legacyTemplate, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { dataFingerprint, readSchema } from '../helpers/catalog.js';
import { compareCarried, PLAN } from '../helpers/carried.js';

const template = await legacyTemplate();
const legacyDb = await scratchDatabase(template);
const migratedDb = await scratchDatabase(template);
const emptyDb = await scratchDatabase();
const legacy = connect(legacyDb.url);
const migrated = connect(migratedDb.url);
const empty = connect(emptyDb.url);
t.teardown(async () => {
  await Promise.all([legacy.end(), migrated.end(), empty.end()]);
  await Promise.all([legacyDb.drop(), migratedDb.drop(), emptyDb.drop()]);
});

const first = await dbMigrate({ url: migratedDb.url }, { viaNpm: true });

t.test('npm run db:migrate restructures the legacy backup and reports every table', async (t) => {
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, APPLIED_WHOLE_CHAIN);
  t.match(first.stdout, /"User" -> users\s+35\s+35/);
  t.match(first.stdout, /"Order" -> orders\s+800\s+800/);
  t.match(first.stdout, /"OrderHistory" -> order_history\s+2588\s+2588/);
  t.match(first.stdout, /"Product" -> products\s+120\s+120/);
  t.match(first.stdout, /"BoxSettings" -> box_settings\s+6\s+6/);
  t.match(first.stdout, /"WordPressSkuCache" -> wordpress_sku_cache\s+1\s+1/);
  t.match(first.stdout, /refresh_tokens\s+58\s+-\s+dropped: 6 moved into users, 0 superseded, 52 expired/);
  t.match(first.stdout, /Every row is accounted for\./);
});

t.test('every legacy row is carried over, column by column', async (t) => {
  for (const carried of await compareCarried(legacy, migrated)) {
    t.equal(carried.rows, carried.legacyRows, `${carried.table}: as many rows as the legacy table`);
    t.same(carried.mismatches, [], `${carried.table}: ${carried.compared} values equal their legacy values`);
  }
});

t.test('only the tables whose money changes type are rewritten; the others keep their files', async (t) => {
  const files = async (sql: typeof legacy, names: string[]) =>
    (await sql.unsafe(`select relname, relfilenode::int as file from pg_class where relname in (${names.map((n) => `'${n}'`).join(', ')})`))
      .map((r) => r.file as number)
      .sort();
  for (const [legacyTable, table] of Object.entries(PLAN.tables)) {
    const [before, after] = [await files(legacy, [legacyTable]), await files(migrated, [table])];
    if (table === 'orders' || table === 'products') t.not(after[0], before[0], `${table} is rewritten (money: double -> numeric)`);
    else t.same(after, before, `${table} keeps its relfilenode: timestamp(3) -> timestamptz rewrites nothing`);
  }
});

t.test('each user with an unexpired legacy token holds a session with the SHA-256 of the longest-lived one', async (t) => {
  const tokens = await legacy`
    select distinct on ("userId") "userId" as id, token, to_char("expiresAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as expires
      from refresh_tokens where "expiresAt" > now() at time zone 'UTC'
     order by "userId", "expiresAt" desc`;
  t.equal(tokens.length, 6, 'the backup has six users with a token valid until 2099');
  const holders = await migrated`select id, sessions from users where sessions <> '[]' order by id`;
  t.same(
    holders.map((u) => ({ id: u.id, sessions: u.sessions.map(({ id, createdAt, ...s }: Record<string, unknown>) => s) })),
    tokens.map((tok) => ({
      id: tok.id,
      sessions: [
        {
          hash: createHash('sha256').update(tok.token).digest('hex'),
          previousHash: null,
          expiresAt: tok.expires,
          rotatedAt: null,
          device: null,
        },
      ],
    })),
  );
  t.ok(
    holders.every((u) => typeof u.sessions[0].id === 'string' && !Number.isNaN(Date.parse(u.sessions[0].createdAt))),
    'each with an id and a creation time',
  );
  t.ok(
    tokens.every((tok) => tok.expires.startsWith('2099-')),
    'those tokens are the ones valid until 2099',
  );
});

t.test("the unused tables and the duplicate indexes are gone; Prisma's ledger is kept", async (t) => {
  const tables = (
    await migrated`select relname from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' order by 1`
  ).map((r) => r.relname);
  t.same(tables, [
    '_prisma_migrations',
    'box_settings',
    'catalogue_sync_runs',
    'feed_marks',
    'order_history',
    'order_status_counts',
    'orders',
    'products',
    'rate_limits',
    'shop_settings',
    'users',
    'wordpress_sku_cache',
  ]);
  const indexes = (await migrated`select indexname from pg_indexes where schemaname = 'public' order by 1`).map((r) => r.indexname);
  t.same(indexes, [
    '_prisma_migrations_pkey',
    'box_settings_pkey',
    'catalogue_sync_runs_pkey',
    'catalogue_sync_runs_queued_at_idx',
    'feed_marks_pkey',
    'order_history_changed_at_idx',
    'order_history_order_id_changed_at_idx',
    'order_history_pkey',
    'order_history_user_id_idx',
    'order_status_counts_status_slot_pk',
    'orders_created_at_idx',
    'orders_customer_phone_idx',
    'orders_external_id_key',
    'orders_last_synced_idx',
    'orders_order_date_idx',
    'orders_pkey',
    'orders_search_idx',
    'orders_status_created_at_idx',
    'orders_sync_status_idx',
    'products_category_name_idx',
    'products_last_sync_at_idx',
    'products_pkey',
    'products_sku_key',
    'rate_limits_pkey',
    'shop_settings_pkey',
    'users_email_key',
    'users_email_trimmed_idx',
    'users_pkey',
    'users_sessions_idx',
    'wordpress_sku_cache_pkey',
  ]);
  const duplicates = await migrated`
    select array_agg(indexrelid::regclass::text) as names from pg_index
     where indrelid::regclass::text not like 'drizzle.%'
     group by indrelid, indkey::text, coalesce(pg_get_expr(indexprs, indrelid), ''), coalesce(pg_get_expr(indpred, indrelid), '')
    having count(*) > 1`;
  t.same(duplicates, [], 'no two indexes on the same key');
  t.same(await migrated`select count(*)::int as n from _prisma_migrations`, [{ n: 6 }]);
});

t.test("the list's indexes carry the searched fields, and the chain's tables are vacuumed and analysed after it", async (t) => {
  const covering = await migrated`
    select c.relname as name, i.indnatts - i.indnkeyatts as included
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where c.relname in ('orders_status_created_at_idx', 'orders_created_at_idx', 'orders_order_date_idx', 'orders_last_synced_idx')
     order by 1`;
  t.same(
    covering.map((r) => [r.name, r.included]),
    [
      ['orders_created_at_idx', 5],
      ['orders_last_synced_idx', 5],
      ['orders_order_date_idx', 5],
      ['orders_status_created_at_idx', 4],
    ],
  );
  // the orders were rewritten by the chain: without VACUUM no page is all-visible (an index-only scan reads the table
  // anyway), without ANALYZE the planner knows nothing of them
  const [orders] = await migrated`
    select c.relallvisible, c.relpages, s.last_vacuum is not null as vacuumed, s.last_analyze is not null as analysed
      from pg_class c join pg_stat_user_tables s on s.relid = c.oid where c.relname = 'orders'`;
  t.ok(orders!.relpages > 0);
  t.equal(orders!.relallvisible, orders!.relpages, 'every page of orders all-visible');
  t.ok(orders!.vacuumed && orders!.analysed, 'vacuumed and analysed');
  const [kept] = await migrated`select last_vacuum from pg_stat_user_tables where relname = '_prisma_migrations'`;
  t.equal(kept!.last_vacuum, null, "a table the chain does not manage is not the migration's to vacuum");
  const [options] = await migrated`select reloptions from pg_class where relname = 'orders'`;
  t.same(
    options!.reloptions,
    ['autovacuum_vacuum_scale_factor=0.01', 'autovacuum_vacuum_insert_scale_factor=0.01'],
    'autovacuum keeps the pages of orders all-visible after a hundredth of it changed',
  );
});

t.test('an empty database migrates to the schema the legacy database ends with', async (t) => {
  const result = await dbMigrate({ url: emptyDb.url });
  t.equal(result.code, 0, result.stderr);
  const [fromEmpty, fromLegacy] = await Promise.all([readSchema(empty), readSchema(migrated)]);
  t.ok(fromLegacy.columns.length > 80 && fromLegacy.indexes.length > 20, 'the comparison has something to compare');
  t.same(fromEmpty.tables, fromLegacy.tables, 'tables');
  t.same(fromEmpty.columns, fromLegacy.columns, 'columns: types, defaults, nullability, order');
  t.same(fromEmpty.constraints, fromLegacy.constraints, 'constraints, validated alike');
  t.same(fromEmpty.indexes, fromLegacy.indexes, 'indexes');
  t.same(fromEmpty.sequences, fromLegacy.sequences, 'sequences');
  t.same(fromEmpty.triggers, fromLegacy.triggers, 'triggers');
  t.ok(
    fromLegacy.triggers.length === 6 && fromLegacy.unlogged.includes('rate_limits'),
    'the NOTIFY triggers, the four that keep order_status_counts, and the UNLOGGED counters',
  );
  t.same(fromEmpty.unlogged, fromLegacy.unlogged, 'unlogged tables');
});

t.test('migrating again applies nothing and changes nothing', async (t) => {
  const [schemaBefore, dataBefore] = [await readSchema(migrated), await dataFingerprint(migrated)];
  const ledgerBefore = await migrated`select * from drizzle.__drizzle_migrations order by id`;
  const again = await dbMigrate({ url: migratedDb.url });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /Nothing to apply: the database is up to date\./);
  t.same(await readSchema(migrated), schemaBefore);
  t.same(await dataFingerprint(migrated), dataBefore);
  t.same(await migrated`select * from drizzle.__drizzle_migrations order by id`, ledgerBefore);
  t.equal(ledgerBefore.length, CHAIN.length);
});

t.test('a VACUUM stopped after the chain has committed is said, and the run still reports what it applied', async (t) => {
  const db = await scratchDatabase(await migratedTemplate());
  t.teardown(db.drop);
  t.equal((await dbRollback(db, ['--to', '0010_order_status_counts'])).code, 0);
  const admin = connect(db.url);
  const holder = connect(db.url);
  t.teardown(() => Promise.all([admin.end(), holder.end()]));
  // the VACUUM waits for rate_limits, which 0011 does not touch, and gives up at the lock timeout
  await admin.unsafe(`alter database "${db.name}" set lock_timeout = '300ms'`);
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked = () => {};
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const held = holder.begin(async (tx) => {
    await tx`lock table rate_limits in share update exclusive mode`;
    locked();
    await released;
  });
  await lockTaken;
  const result = await dbMigrate(db);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, 'Applied 2 migration(s): 0011_search_covering_indexes, 0012_login_email_index.');
  t.match(
    result.stdout,
    'The chain is applied, but VACUUM (ANALYZE) of its tables did not finish: canceling statement due to lock timeout.',
  );
  t.match(result.stdout, 'Every row is accounted for.');
  release();
  await held;
  const [ledger] = await admin`select count(*)::int as n from drizzle.__drizzle_migrations`;
  t.equal(ledger!.n, CHAIN.length, 'the whole chain is recorded');
});
