/**
 * `npm run db:rollback`: the legacy backup, restructured, written to through the API, taken back.
 * The schema-only dump is the backup's, byte for byte; every row is there, the writes included;
 * migrating again gives the content the database had before the rollback. Also: two rollbacks at
 * once, `--to`, a value the legacy schema cannot hold, and PGlite.
 */
import { openPglite } from '../../src/db/client.js';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { APPLIED_WHOLE_CHAIN, CHAIN, dbMigrate, dbRollback } from '../helpers/commands.js';
import { connect, legacyTemplate, migratedTemplate, schemaDump, scratchDatabase, scratchWithClient } from '../helpers/databases.js';
import { dataFingerprint, readSchema, wholeState } from '../helpers/catalog.js';
import { compareCarried } from '../helpers/carried.js';
import { pgliteFolder } from '../helpers/pglite.js';
import { LOGINS, TEST_CONFIG } from '../helpers/app.js';

/** What a rollback cannot carry back: the sessions (users keeps only their tokens' hashes). */
const SESSIONS = { users: ['sessions', 'token_version'] };
/**
 * The content but the sessions and the login-attempt counters (rate_limits), which do not go back;
 * of order_status_counts the count per status, not how the writers spread it over slots.
 */
const content = async (sql: Parameters<typeof dataFingerprint>[0]) => {
  const { rate_limits: _counters, order_status_counts: _slots, ...rest } = await dataFingerprint(sql, SESSIONS);
  const counts = await sql`select status, sum(n)::int as n from order_status_counts group by status having sum(n) <> 0 order by status`;
  return { ...rest, order_status_counts: JSON.stringify(counts) };
};
const WHOLE_CHAIN_BACK = new RegExp(
  `Rolled back ${CHAIN.length} migration\\(s\\): ${[...CHAIN]
    .reverse()
    .map((m) => m.tag)
    .join(', ')}\\.`,
);

/** Writes of every kind through the API: orders, history, products, users, box settings, the SKU cache. */
async function writeThroughApi(url: string) {
  const app = await buildApp({ database: { url }, ...TEST_CONFIG }, { logLevel: 'silent' });
  try {
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: LOGINS.admin.email, password: LOGINS.admin.password },
    });
    if (login.statusCode !== 200) throw new Error(login.body);
    const headers = { authorization: `Bearer ${login.json().accessToken}` };
    const list = async (path: string) =>
      (await app.inject({ url: `/api/v1/${path}?limit=3&order=asc`, headers })).json().items as { id: string | number }[];
    const [orderA, orderB] = await list('orders');
    const [productA, productB] = await list('products');
    const [box] = await list('box-settings');
    const [cache] = await list('wordpress-sku-cache');
    const writes = [
      {
        method: 'POST',
        url: '/api/v1/orders',
        payload: {
          id: '900001',
          externalId: 'WP-900001',
          orderNumber: '900001',
          quantity: 2,
          status: '1',
          items: [{ productName: 'Борщ український', sku: '01010', quantity: 2, price: 121.77 }],
          rawData: { source: 'test' },
          customerPhone: '+380670104729',
          totalPrice: '243.54',
          orderDate: '2026-11-20T08:37:00.748Z',
        },
      },
      { method: 'PATCH', url: '/api/v1/orders/900001', payload: { status: '2' } },
      {
        method: 'PATCH',
        url: `/api/v1/orders/${orderA!.id}`,
        payload: { status: '3', totalPrice: '0.10', customerName: 'Ковальчук Ірина' },
      },
      { method: 'DELETE', url: `/api/v1/orders/${orderB!.id}` },
      {
        method: 'POST',
        url: '/api/v1/order-history',
        payload: { orderId: String(orderA!.id), status: '4', source: 'salesdrive', notes: 'ТТН видано' },
      },
      {
        method: 'POST',
        url: '/api/v1/products',
        payload: { sku: 'T-900', name: 'Тестові вареники', costPerItem: '12345678.91', weight: 500 },
      },
      { method: 'PATCH', url: `/api/v1/products/${productA!.id}`, payload: { costPerItem: '0.30', categoryName: 'Інше' } },
      { method: 'DELETE', url: `/api/v1/products/${productB!.id}` },
      {
        method: 'POST',
        url: '/api/v1/users',
        payload: { email: 'new.clerk@nk-food.shop', role: 'storekeeper', password: 'a-new-Passw0rd!' },
      },
      { method: 'PATCH', url: `/api/v1/users/${LOGINS.boss.id}`, payload: { name: 'Новий бос' } },
      { method: 'DELETE', url: `/api/v1/users/${LOGINS.user.id}` },
      { method: 'PATCH', url: `/api/v1/box-settings/${box!.id}`, payload: { overflow: 3 } },
      { method: 'PATCH', url: `/api/v1/wordpress-sku-cache/${cache!.id}`, payload: { skus: ['01001', '01002'] } },
    ] as const;
    for (const write of writes) {
      const response = await app.inject({ ...write, headers });
      if (response.statusCode >= 300) throw new Error(`${write.method} ${write.url}: ${response.statusCode} ${response.body}`);
    }
    return writes.length;
  } finally {
    await app.close();
  }
}

t.test('legacy backup -> migrate -> writes through the API -> rollback -> migrate', async (t) => {
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);
  const backupDump = await schemaDump(db.url);

  t.equal((await dbMigrate(db)).code, 0);
  t.equal(await writeThroughApi(db.url), 13, 'the API wrote');
  // the database as it is before the rollback, kept to compare with
  const written = await scratchDatabase(db.name);
  t.teardown(written.drop);
  const sql = connect(db.url);
  const before = connect(written.url);
  t.teardown(() => Promise.all([sql.end(), before.end()]));

  const back = await dbRollback(db, [], { viaNpm: true });
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, WHOLE_CHAIN_BACK);
  t.match(back.stdout, /users -> "User"\s+35\s+35/);
  t.match(back.stdout, /orders -> "Order"\s+800\s+800/, 'one order created, one deleted');
  t.match(back.stdout, /refresh_tokens\s+-\s+0\s+recreated empty: 7 session\(s\) end/, "six legacy sessions and the admin's login");
  t.match(back.stdout, /DilovodData\s+-\s+0\s+recreated empty/);
  t.match(back.stdout, /Every row is accounted for\./);

  t.equal(await schemaDump(db.url), backupDump, "pg_dump --schema-only is the backup's, byte for byte");
  for (const carried of await compareCarried(sql, before)) {
    t.equal(carried.legacyRows, carried.rows, `"${carried.table}": every row carried back`);
    t.same(carried.mismatches, [], `${carried.table}: ${carried.compared} values carried back unchanged`);
  }
  const [created] = await sql`select "totalPrice", "orderDate", status from "Order" where id = '900001'`;
  t.same(
    created,
    { totalPrice: 243.54, orderDate: new Date('2026-11-20T08:37:00.748Z'), status: '2' },
    'an order created through the API is there',
  );
  t.same(
    await sql`select count(*)::int as n from "OrderHistory" where "orderId" = '900001'`,
    [{ n: 2 }],
    'with its history: its first status and its status change',
  );

  const sequences = await sql`
    select s.sequencename as name, s.last_value::int as last, d.refobjid::regclass::text as table
      from pg_sequences s
      join pg_depend d on d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass and d.deptype = 'a'
     where s.schemaname = 'public'`;
  for (const { name, last, table } of sequences) {
    const [{ max }] = (await sql.unsafe(`select coalesce(max(id), 0)::int as max from ${table}`)) as unknown as [{ max: number }];
    t.ok((last ?? 0) >= max, `${name} is past the highest id of ${table} (${last} >= ${max})`);
  }

  const again = await dbMigrate(db);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, APPLIED_WHOLE_CHAIN);
  t.same(await readSchema(sql), await readSchema(before), 'migrated again: the same schema');
  t.same(await content(sql), await content(before), 'and the same content, the sessions aside');
  t.same(await sql`select count(*)::int as n from users where sessions <> '[]'`, [{ n: 0 }], 'the sessions ended with the rollback');
});

t.test('two rollbacks at once: one rolls back, the other finds nothing to do', async (t) => {
  const { url } = await scratchWithClient(t, await migratedTemplate());
  const results = await Promise.all([dbRollback({ url }), dbRollback({ url })]);
  t.same(
    results.map((r) => r.code),
    [0, 0],
    results.map((r) => r.stderr).join(''),
  );
  t.equal(results.filter((r) => WHOLE_CHAIN_BACK.test(r.stdout)).length, 1, 'one rolls back');
  t.equal(results.filter((r) => /Nothing to roll back\./.test(r.stdout)).length, 1, 'the other waited, then found nothing');
});

t.test('what the legacy schema has no place for is named in the report with how many it held and why, never silently', async (t) => {
  const { url, sql } = await scratchWithClient(t, await migratedTemplate());
  await sql`update box_settings set barcode = 'BOX-' || id where id in (select id from box_settings order by id limit 2)`;
  await sql`update products set barcode = '48200' || id where id in (select id from products order by id limit 3)`;
  await sql`insert into feed_marks (name, mark) values ('salesdrive-orders', now())`;
  const back = await dbRollback({ url });
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /box_settings\.barcode \(values\)\s+2\s+-\s+dropped: box barcodes are entered again/);
  t.match(back.stdout, /products\.barcode \(values\)\s+3\s+-\s+dropped: the next sync from Dilovod brings the product barcodes back/);
  t.match(back.stdout, /feed_marks\s+1\s+-\s+dropped: the legacy schema keeps no high-water marks/);
  t.notMatch(
    back.stdout,
    /products\.outdated_at|catalogue_sync_runs|users\.sessions/,
    'nothing named that held nothing (or is told with the sessions)',
  );
  t.match(back.stdout, /Every row is accounted for\./);
});

t.test('--to <tag> stops after that migration, and migrate applies the rest again', async (t) => {
  const { url, sql } = await scratchWithClient(t, await migratedTemplate());
  const [schema, data] = [await readSchema(sql), await content(sql)];
  const [kept, ...reverted] = CHAIN.slice(1);
  const back = await dbRollback({ url }, ['--to', kept!.tag]);
  t.equal(back.code, 0, back.stderr);
  t.match(
    back.stdout,
    `Rolled back ${reverted.length} migration(s): ${[...reverted]
      .reverse()
      .map((m) => m.tag)
      .join(', ')}.`,
  );
  t.equal((await sql`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]!.n, 2, 'the ledger keeps the first two');
  const forward = await dbMigrate({ url });
  t.match(forward.stdout, `Applied ${reverted.length} migration(s): ${reverted.map((m) => m.tag).join(', ')}.`);
  t.same(await readSchema(sql), schema);
  t.same(await content(sql), data);

  const unknown = await dbRollback({ url }, ['--to', '0042_nothing']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /--to 0042_nothing: no such migration; the chain is 0000_legacy_prisma_schema, /);
});

t.test('a value the legacy schema cannot hold stops the rollback before it changes anything, naming the rows', async (t) => {
  const { url, sql } = await scratchWithClient(t, await migratedTemplate());
  const [order] = await sql`select id from orders order by id limit 1`;
  await sql`update orders set updated_at = '2026-11-30 10:00:00.123456+00' where id = ${order!.id}`;
  await sql`update users set last_login_at = '2026-11-30 10:00:00.0005+00' where id = 1`;
  const state = await wholeState(sql);
  const ledger = await sql`select * from drizzle.__drizzle_migrations order by id`;

  const result = await dbRollback({ url });
  t.equal(result.code, 1);
  t.match(result.stderr, /Rollback of PostgreSQL \(.*\) stopped; nothing was changed\./);
  t.match(result.stderr, /2 row\(s\) hold a value the legacy schema cannot hold unchanged/);
  t.match(result.stderr, `orders id='${order!.id}' updated_at=2026-11-30 10:00:00.123456+00: finer than a millisecond`);
  t.match(result.stderr, "users id='1' last_login_at=2026-11-30 10:00:00.0005+00: finer than a millisecond");
  t.same(await wholeState(sql), state, 'schema and data as they were');
  t.same(await sql`select * from drizzle.__drizzle_migrations order by id`, ledger, 'and the ledger');
});

// The check rides on the rewrites (drizzle/down/0002_restructure.sql): a value met by a later one,
// after orders has been rewritten, stops the rollback just the same.
t.test('a value met by a later rewrite stops the rollback too, naming the rows', async (t) => {
  for (const [table, column, value, id] of [
    ['order_history', 'changed_at', '2026-11-30 10:00:00.0001+00', undefined],
    ['users', 'created_at', '2026-11-30 10:00:00.9999+00', '2'],
  ] as const) {
    await t.test(table, async (t) => {
      const { url, sql } = await scratchWithClient(t, await migratedTemplate());
      const [row] = id ? [{ id }] : await sql`select id::text from ${sql(table)} order by id limit 1`;
      const updated = await sql.unsafe(`update "${table}" set "${column}" = '${value}' where id::text = '${row.id}'`);
      t.equal(updated.count, 1, 'the value is in place');
      const state = await wholeState(sql);
      const result = await dbRollback({ url });
      t.equal(result.code, 1, result.stdout + result.stderr);
      t.match(result.stderr, /1 row\(s\) hold a value the legacy schema cannot hold unchanged/);
      t.match(result.stderr, `${table} id='${row.id}' ${column}=${value}: finer than a millisecond`);
      t.notMatch(result.stderr, /BO002|cannot be carried back unchanged/, 'not the internal signal');
      t.same(await wholeState(sql), state, 'schema and data as they were');
    });
  }
});

t.test('PGlite: the legacy backup, migrated, rolled back: the legacy schema is back', async (t) => {
  const readSchemaOf = async (dataDir: string) => {
    const pg = await openPglite(dataDir);
    try {
      return await readSchema(async (text) => (await pg.query<Record<string, unknown>>(text)).rows);
    } finally {
      await pg.close();
    }
  };
  const legacy = await readSchemaOf(await pgliteFolder(t, 'legacy'));
  // the backup as the chain left it (pglite.test.ts migrates it through the command)
  const dir = await pgliteFolder(t, 'legacy-migrated');
  t.equal((await dbMigrate({ dataDir: dir })).code, 0);
  const back = await dbRollback({ dataDir: dir });
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, WHOLE_CHAIN_BACK);
  t.match(back.stdout, /order_history -> "OrderHistory"\s+2588\s+2588/);
  t.same(await readSchemaOf(dir), legacy, 'the legacy schema');
});
