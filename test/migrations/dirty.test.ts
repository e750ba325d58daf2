/**
 * Production data is dirtier than the backup. Rows that the new schema could only take by
 * altering them stop the restructuring before it changes anything, and are named; rows that
 * merely break a new rule are carried over unchanged, and the rule holds for new rows.
 */
import t from 'tap';
import { dbMigrate } from '../helpers/commands.js';
import { legacyTemplate, scratchWithClient } from '../helpers/databases.js';
import { wholeState } from '../helpers/catalog.js';

const template = await legacyTemplate();

t.test('rows that cannot be carried over unchanged stop the migration, which names them', async (t) => {
  const { sql, ...db } = await scratchWithClient(t, template);
  await sql`update "Order" set "totalPrice" = 12.345 where id = '100001'`;
  await sql`update "Order" set "totalPrice" = 'Infinity' where id = '100002'`;
  await sql`update "Product" set "costPerItem" = 1e12 where id = 3`;
  await sql`update "Product" set "costPerItem" = 'NaN' where id = 4`;
  await sql`insert into "User" (id, email, role, password, "updatedAt") values (36, 'Admin@NK-food.shop', 'admin', 'x', now())`;
  await sql`update "Order" set "customerPhone" = repeat('+380', 700) where id = '100003'`;
  const before = await wholeState(sql);

  const result = await dbMigrate({ url: db.url });
  t.equal(result.code, 1, 'exits 1');
  t.match(result.stderr, /Restructuring stopped before changing anything: 7 legacy row\(s\) cannot be carried over unchanged/);
  for (const line of [
    `"Order" id='100001' "totalPrice"=12.345: not a whole number of kopecks`,
    `"Order" id='100002' "totalPrice"=Infinity: not a number`,
    `"Product" id=3 "costPerItem"=1000000000000: too large for numeric(12,2)`,
    `"Product" id=4 "costPerItem"=NaN: not a number`,
    `"User" id=1 "email"='admin@nk-food.shop': the same address as user id 36, ignoring letter case`,
    `"User" id=36 "email"='Admin@NK-food.shop': the same address as user id 1, ignoring letter case`,
    `"Order" id='100003' "customerPhone" (2800 bytes, starts '+380+380`,
  ]) {
    t.ok(result.stderr.includes(line), `names ${line.slice(0, 60)}…`);
  }
  t.match(result.stderr, /HINT: Correct these rows/);
  t.same(await wholeState(sql), before, 'the database is exactly as it was: tables, data, no ledger');
});

// The pre-flight rides on the statements that read the rows anyway (drizzle/0002_restructure.sql):
// whichever of them meets the first such row, the whole list is named and nothing is changed.
t.test('each statement that meets a row first stops the migration with the whole list', async (t) => {
  const cases: { what: string; dirty: string[]; count?: number; lines: string[] }[] = [
    {
      what: 'the rewrite of orders (money)',
      dirty: [`update "Order" set "totalPrice" = 0.005 where id = '100004'`],
      lines: [`"Order" id='100004' "totalPrice"=0.005: not a whole number of kopecks`],
    },
    {
      what: 'the rewrite of orders (a status too long to index)',
      dirty: [`update "Order" set status = repeat('x', 2001) where id = '100005'`],
      lines: [`"Order" id='100005' "status" (2001 bytes, starts 'xxxx`],
    },
    {
      what: 'the rewrite of orders, after a row that breaks a new check',
      dirty: [
        `update "Order" set quantity = -1 where id = (select min(id) from "Order")`,
        `update "Order" set "totalPrice" = -1e10 where id = (select max(id) from "Order")`,
      ],
      lines: [`"totalPrice"=-10000000000: too large for numeric(12,2)`],
    },
    {
      what: 'the rewrite of products',
      dirty: [`update "Product" set "categoryName" = repeat('к', 1001) where id = 5`],
      lines: [`"Product" id=5 "categoryName" (2002 bytes, starts 'кккк`],
    },
    {
      what: 'the e-mail index, with an order too',
      dirty: [
        `insert into "User" (id, email, role, password, "updatedAt") values (37, 'BOSS@nk-food.shop', 'boss', 'x', now())`,
        `update "Order" set "totalPrice" = '-Infinity' where id = '100006'`,
      ],
      count: 3, // both users, and the order
      lines: [
        `"User" id=37 "email"='BOSS@nk-food.shop': the same address as user id`,
        `"Order" id='100006' "totalPrice"=-Infinity: not a number`,
      ],
    },
  ];
  for (const c of cases) {
    await t.test(c.what, async (t) => {
      const { sql, ...db } = await scratchWithClient(t, template);
      for (const statement of c.dirty) await sql.unsafe(statement);
      const before = await wholeState(sql);
      const result = await dbMigrate({ url: db.url });
      t.equal(result.code, 1, 'exits 1');
      t.match(result.stderr, new RegExp(`Restructuring stopped before changing anything: ${c.count ?? c.lines.length} legacy row\\(s\\)`));
      for (const line of c.lines) t.ok(result.stderr.includes(line), `names ${line.slice(0, 60)}…`);
      t.notMatch(result.stderr, /cannot be carried over unchanged$|BO001/m, 'not the internal signal');
      t.same(await wholeState(sql), before, 'the database is exactly as it was');
    });
  }
});

t.test('a database holding only part of the legacy schema is refused, unchanged', async (t) => {
  const { sql, ...db } = await scratchWithClient(t, template);
  await sql`drop table "WordPressSkuCache"`;
  const before = await wholeState(sql);
  const result = await dbMigrate({ url: db.url });
  t.equal(result.code, 1);
  t.match(result.stderr, /only part of the legacy schema: found .*, missing \{WordPressSkuCache\}/);
  t.same(await wholeState(sql), before);
});

t.test('rows that break a new rule are kept unchanged; new rows must follow it', async (t) => {
  const { sql, ...db } = await scratchWithClient(t, template);
  const unusual = `${'Ще одна примітка 🍲 \u202Eтекст\u202C\u200B "лапки" \'апостроф\' \\ \n'.repeat(20_000)}кінець`;
  await sql`update "Order" set items = '{"not": "an array"}', quantity = -1, "syncStatus" = 'unknown' where id = '100001'`;
  await sql`update "User" set role = 'superuser', email = ' spaced@nk-food.shop ' where id = 8`;
  await sql`update "BoxSettings" set "qntFrom" = 10, "qntTo" = 5 where id = 7`;
  await sql`update "OrderHistory" set notes = ${unusual}, source = 'import' where id = 'ca6ac4011d306a7fdec12921b'`;
  await sql`update "Product" set currency = 'грн' where id = 1`;
  await sql`update "WordPressSkuCache" set skus = '{"01001": true}' where id = 1`;

  const result = await dbMigrate({ url: db.url });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /Every row is accounted for\./);
  // one line per row and rule it breaks (test/migrations/rule-breakers.test.ts checks them in detail)
  for (const [table, check] of [
    ['box_settings id=7', 'box_settings_portions_check'],
    ["order_history id='ca6ac4011d306a7fdec12921b'", 'order_history_source_check'],
    ["orders id='100001'", 'orders_items_check'],
    ["orders id='100001'", 'orders_quantity_check'],
    ["orders id='100001'", 'orders_sync_status_check'],
    ['products id=1', 'products_currency_check'],
    ['users id=8', 'users_email_check'],
    ['users id=8', 'users_role_check'],
    ['wordpress_sku_cache id=1', 'wordpress_sku_cache_skus_check'],
  ] as const) {
    t.match(
      result.stdout,
      new RegExp(`^  ${table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*: ${check} \\(`, 'm'),
      `reports ${table} breaking ${check}`,
    );
  }
  t.notMatch(result.stdout, /orders_total_price_check/, 'checks that every row passes are validated');

  const [order] = await sql`select items, quantity, sync_status from orders where id = '100001'`;
  t.same(order, { items: { not: 'an array' }, quantity: -1, sync_status: 'unknown' });
  const [user] = await sql`select role, email from users where id = 8`;
  t.same(user, { role: 'superuser', email: ' spaced@nk-food.shop ' });
  const [history] = await sql`select notes, source from order_history where id = 'ca6ac4011d306a7fdec12921b'`;
  t.equal(history!.notes, unusual, 'a 1.5 MB note of unusual text, byte for byte');
  t.equal(history!.source, 'import');
  t.same(await sql`select currency from products where id = 1`, [{ currency: 'грн' }]);
  t.same(await sql`select skus from wordpress_sku_cache`, [{ skus: { '01001': true } }]);

  const refused = (query: Promise<unknown>) =>
    query.then(
      () => 'accepted',
      (e: { code?: string }) => e.code,
    );
  t.equal(
    await refused(sql`insert into users (email, role, password_hash) values ('new@nk-food.shop', 'superuser', 'x')`),
    '23514',
    'a new user with an unknown role is refused',
  );
  t.equal(await refused(sql`update users set email = ' x@nk-food.shop' where id = 9`), '23514', 'a stray space is refused on update');
  t.equal(await refused(sql`update box_settings set qnt_from = 20 where id = 8`), '23514', 'an inverted portion range is refused');
  t.equal(
    await refused(sql`insert into users (email, role, password_hash) values ('BOSS@nk-food.shop', 'boss', 'x')`),
    '23505',
    'e-mail is unique regardless of case',
  );
});
