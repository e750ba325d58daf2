/**
 * `npm run db:import` (issue 28): the old back office's MySQL database (MariaDB 10.11 standing in for
 * MySQL 8), built from its schema with the rows of the PostgreSQL backup and MySQL's hard cases, copied
 * into PostgreSQL and PGlite, migrated, and served; refused when the target is not empty or a value
 * cannot be carried; the source never written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { openPglite } from '../../src/db/client.js';
import { LOGINS, TEST_CONFIG } from '../helpers/app.js';
import { APPLIED_WHOLE_CHAIN, dbMigrate, runScript } from '../helpers/commands.js';
import { connect, scratchDatabase } from '../helpers/databases.js';
import { scratchMysql } from '../helpers/mysql.js';

/** The built CLI as `npm run db:import` runs it (the build ran before the tests). */
const dbImport = (args: string[], env: Record<string, string>) => runScript('db:import', args, env);

async function scratchPostgres(t: { teardown(fn: () => unknown): void }) {
  const db = await scratchDatabase();
  const sql = connect(db.url);
  t.teardown(async () => {
    await sql.end();
    await db.drop();
  });
  return { ...db, sql };
}

t.test('a legacy MySQL database is imported, migrated and served, every row verified, the source unchanged', async (t) => {
  const mysql = await scratchMysql(t);
  const target = await scratchPostgres(t);
  const before = await mysql.checksums();
  const [legacyToken] = await mysql.query<{ token: string }>(
    "SELECT token FROM refresh_tokens WHERE expiresAt > '2090-01-01' ORDER BY id LIMIT 1",
  );

  const imported = await runScript('db:import', [mysql.url], { DATABASE_URL: target.url }, { viaNpm: true });
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /one consistent snapshot taken at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
  t.match(imported.stdout, /^User\s+36\s+36\s+36$/m);
  t.match(imported.stdout, /^Order\s+803\s+803\s+803$/m);
  t.match(imported.stdout, /^OrderHistory\s+2588\s+2588\s+2588$/m);
  t.match(imported.stdout, /^settings_boxes -> BoxSettings\s+6\s+6\s+6$/m);
  t.match(imported.stdout, /^settings_wp_sku -> WordPressSkuCache\s+1\s+1\s+1$/m);
  t.match(imported.stdout, /^shop_notes\s+2\s+2\s+2$/m);
  t.notMatch(imported.stdout + imported.stderr, /\$2b\$/, 'no password hash printed');
  t.same(await mysql.checksums(), before, 'the MySQL database is unchanged');

  // the hard cases, exactly, in the legacy shape
  const sql = target.sql;
  const [user] =
    await sql`select name, "roleName", "isActive", "lastActivityAt"::text as activity, "lastLoginAt"::text as login from "User" where id = 9000000`;
  t.equal(user!.name, 'Emoji 🍕🥟 and combining: Jose\u0301 Ñ');
  t.equal(user!.roleName, 'Quotes \' " and back\\slashes \\n');
  t.same([user!.isActive, user!.activity, user!.login], [false, '1970-01-01 00:00:00', '2025-08-28 23:59:59.999']);
  const orders =
    await sql`select id, "totalPrice"::text as price, items::text as items, "rawData" as raw, "customerName" as name, "orderDate"::text as date from "Order" where id like 'hard-%' order by id`;
  t.same(
    orders.map((o) => [o.id, o.price, o.items, o.date]),
    [
      ['hard-1', '0.30000000000000004', '[]', '1970-01-01 00:00:00'],
      ['hard-2', '1234.5', '[{"sku": "01001", "price": 0.30000000000000004, "quantity": 1, "productName": "Вареники 🥟"}]', null],
      ['hard-3', '99.99', 'null', '2025-08-28 10:00:00.5'],
    ],
  );
  t.equal(orders[0]!.name, 'Ім\'я "в лапках" \\ 🎉');
  t.equal((orders[1]!.raw as { note: string }).note.length, 'довгий текст '.length * 20000);
  t.same(orders[2]!.raw, { a: {}, b: [], c: null, d: 'tab\tnewline\nquote"backslash\\' });
  const products =
    await sql`select id, "costPerItem"::text as cost, "set"::text as set, "set" is null as sql_null from "Product" where id >= 7000000 order by id`;
  t.same(
    products.map((p) => [p.id, p.cost, p.set, p.sql_null]),
    [
      [7000000, '0.07', 'null', false],
      [7000001, null, null, true],
    ],
    'JSON null is not SQL NULL',
  );
  const doubles = await sql`select price::text from "DilovodData" where id >= 1000 order by id`;
  t.same(
    doubles.map((d) => d.price),
    ['1e-07', '5e-324', '1.7976931348623157e+308'],
    'doubles bit for bit',
  );
  const [note] =
    await sql`select id::text, small, amount::text, ratio::text, payload, kind, day::text, duration::text, made, code, latin from shop_notes order by id limit 1`;
  t.same(
    { ...note, payload: [...(note!.payload as Buffer)] },
    {
      id: '1',
      small: -128,
      amount: '12345678901234.123456',
      ratio: '0.1',
      payload: [0, 255, 16],
      kind: 'warning',
      day: '1970-01-01',
      duration: '-838:59:59',
      made: 2025,
      code: 'AB',
      latin: 'café',
    },
  );
  t.same((await sql`select id::text from shop_notes order by id desc limit 1`)[0], { id: '18446744073709551000' });
  const [base] = await sql`select created_at::text as created from settings_base where key = 'weight_tolerance_percentage'`;
  t.equal(base!.created, '2025-08-28 10:00:00.123+00', 'TIMESTAMP read in UTC, kept as timestamptz');

  const migrated = await dbMigrate({ url: target.url });
  t.equal(migrated.code, 0, migrated.stderr);
  t.match(migrated.stdout, APPLIED_WHOLE_CHAIN);
  t.match(migrated.stdout, /Every row is accounted for\./);

  const app = await buildApp({ database: { url: target.url }, ...TEST_CONFIG });
  t.teardown(() => app.close());
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: LOGINS.admin.email, password: LOGINS.admin.password },
  });
  t.equal(login.statusCode, 200, 'a legacy account logs in with its old password');
  const farAbove = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'far.above@nk-food.shop', password: LOGINS.admin.password },
  });
  t.equal(farAbove.statusCode, 403, 'an inactive legacy account is refused after its right password');
  const refresh = () => app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: legacyToken!.token } });
  t.equal((await refresh()).statusCode, 200, 'a legacy refresh token works');
  t.equal((await refresh()).statusCode, 401, '… once');
  const admin = { authorization: `Bearer ${login.json().accessToken}` };
  const newUser = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { email: 'new.after.import@nk-food.shop', role: 'user', password: 'a-new-Passw0rd!' },
  });
  t.equal(newUser.statusCode, 201, newUser.body);
  t.ok(newUser.json().id > 9000000, 'the sequence is past the largest imported id');
  const newProduct = await app.inject({
    method: 'POST',
    url: '/api/v1/products',
    headers: admin,
    payload: { sku: 'AFTER-IMPORT', name: 'Новий' },
  });
  t.equal(newProduct.statusCode, 201, newProduct.body);
  t.ok(newProduct.json().id > 7000001);
});

t.test('a target that is not empty is refused and left as it was', async (t) => {
  const mysql = await scratchMysql(t, 'empty');
  const target = await scratchPostgres(t);
  await target.sql`create table kept (id int primary key)`;
  await target.sql`insert into kept values (1)`;
  const result = await dbImport([mysql.url], { DATABASE_URL: target.url });
  t.equal(result.code, 1);
  t.match(result.stderr, /The target database is not empty: it holds public\.kept\./);
  const tables = await target.sql`select table_name from information_schema.tables where table_schema = 'public'`;
  t.same(
    tables.map((r) => r.table_name),
    ['kept'],
  );
  t.same(await target.sql`select id from kept`, [{ id: 1 }]);
});

t.test('a row that arrives changed fails the import and leaves the target empty', async (t) => {
  const mysql = await scratchMysql(t);
  const target = await scratchPostgres(t);
  // a fault in the target: as soon as "Order" is created, a trigger changes each row written into it
  await target.sql.unsafe(`
    create function tamper() returns trigger language plpgsql as $$ begin new."customerName" := 'changed'; return new; end $$;
    create function add_tamper() returns event_trigger language plpgsql as $$ begin
      if to_regclass('public."Order"') is not null and not exists (select from pg_trigger where tgname = 'tamper') then
        create trigger tamper before insert on "Order" for each row execute function tamper();
      end if;
    end $$;
    create event trigger add_tamper on ddl_command_end execute function add_tamper();`);
  const result = await dbImport([mysql.url], { DATABASE_URL: target.url });
  t.equal(result.code, 1, result.stdout);
  t.match(result.stderr, /^Order\s+803\s+803\s+0$/m, 'counted, not verified');
  t.match(result.stderr, /Order: the rows in PostgreSQL differ from those in MySQL\. Nothing was written: the target is empty\./);
  const tables = await target.sql`select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`;
  t.equal(tables[0]!.n, 0, 'no table left');
  await target.sql`drop event trigger add_tamper`;
});

t.test('two imports into one database at once: one copies, the other finds its tables and writes nothing', async (t) => {
  const mysql = await scratchMysql(t);
  const target = await scratchPostgres(t);
  const results = await Promise.all([
    dbImport([mysql.url], { DATABASE_URL: target.url }),
    dbImport([mysql.url], { DATABASE_URL: target.url }),
  ]);
  t.same(results.map((r) => r.code).sort(), [0, 1], results.map((r) => r.stderr).join('\n'));
  t.match(results.find((r) => r.code === 1)!.stderr, /The target database is not empty: it holds public\."BoxSettings", /);
  const [orders] = await target.sql`select count(*)::int as n from "Order"`;
  t.equal(orders!.n, 803, 'copied once');
});

t.test('values PostgreSQL cannot hold stop the import before it writes, each named with its fix; --check lists them', async (t) => {
  const mysql = await scratchMysql(t, 'uncarriable');
  const target = await scratchPostgres(t);
  const before = await mysql.checksums();
  const expected = [
    'User id=1 lastLoginAt: a zero date (0000-00-00), which PostgreSQL cannot hold\n    fix: UPDATE `User` SET `lastLoginAt` = NULL WHERE `id` = 1;',
    "User id=2 lastLoginAt: an impossible date (2024-02-30 10:00:00.000), which PostgreSQL cannot hold\n    fix: UPDATE `User` SET `lastLoginAt` = '2024-02-29 10:00:00.000' /* or the real date */ WHERE `id` = 2;",
    "User id=3 name: a NUL byte, which a PostgreSQL string cannot hold\n    fix: UPDATE `User` SET `name` = REPLACE(`name`, CHAR(0), '') WHERE `id` = 3;",
    'User id=3 password: a NUL byte',
    'User id=3 isActive: 2 in a BOOLEAN (TINYINT(1))',
    "Order id='z-1' rawData: a JSON string holding \\u0000, which PostgreSQL jsonb cannot hold",
    "Order id='z-1' updatedAt: a zero date (0000-00-00), which PostgreSQL cannot hold\n    fix: UPDATE `Order` SET `updatedAt` = '1970-01-01 00:00:00' /* or the real date */ WHERE `id` = 'z-1';",
    "Order id='z-1' orderDate: an impossible date (2025-00-10 00:00:00.000)",
  ];
  for (const args of [[mysql.url, '--check'], [mysql.url]]) {
    const result = await dbImport(args, { DATABASE_URL: target.url });
    t.equal(result.code, 1, args.join(' '));
    t.match(result.stderr, /^8 value\(s\) PostgreSQL cannot hold exactly/m);
    for (const line of expected) t.ok(result.stderr.includes(line), line);
    t.notMatch(result.stdout + result.stderr, /secret|fine@/, 'never a password hash, never another row');
    const tables =
      await target.sql`select count(*)::int as n from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')`;
    t.equal(tables[0]!.n, 0, 'nothing written');
  }
  t.same(await mysql.checksums(), before, 'the MySQL database is unchanged');

  // once fixed with the UPDATEs printed, --check finds nothing
  const fixes = [...(await dbImport([mysql.url, '--check'], { DATABASE_URL: target.url })).stderr.matchAll(/fix: (UPDATE .*;)$/gm)].map(
    (m) => m[1]!,
  );
  t.equal(fixes.length, 8);
  await mysql.query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'");
  for (const fix of fixes) await mysql.query(fix);
  const clean = await dbImport([mysql.url, '--check'], { DATABASE_URL: target.url });
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, /Every value can be carried \(\d+ tables, 5 rows\)\. Nothing was copied \(--check\)\./);
});

t.test('PGlite as the target: imported, then migrated', async (t) => {
  const mysql = await scratchMysql(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'bo-import-pglite-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const imported = await dbImport([mysql.url], { DATABASE_URL: '', PGLITE_DATA_DIR: dataDir });
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /^Order\s+803\s+803\s+803$/m);
  const migrated = await dbMigrate({ dataDir });
  t.equal(migrated.code, 0, migrated.stderr);
  const pg = await openPglite(dataDir);
  t.teardown(() => pg.close());
  const counts = await pg.query<{ orders: number; users: number; price: string }>(
    "select (select count(*)::int from orders) as orders, (select count(*)::int from users) as users, (select total_price::text from orders where id = 'hard-1') as price",
  );
  t.same(counts.rows[0], { orders: 803, users: 36, price: '0.30' });
});
