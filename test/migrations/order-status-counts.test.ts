/**
 * Migration 0010 on the embedded default: the legacy backup migrated on PGlite has its counts per
 * status filled from its orders and kept by the triggers; the rollback drops the table, its
 * triggers and their functions, and says so. (The concurrent writers: test/api/order-counts.test.ts.)
 */
import t from 'tap';
import { openPglite } from '../../src/db/client.js';
import { dbMigrate, dbRollback } from '../helpers/commands.js';
import { pgliteFolder } from '../helpers/pglite.js';

const KEPT = `select coalesce(sum(n), 0)::int as n, status from order_status_counts group by status having sum(n) <> 0 order by status`;
const COUNTED = `select count(*)::int as n, status from orders group by status order by status`;

t.test('the legacy backup migrated on PGlite: the counts are count(*), and stay so; the rollback drops them', async (t) => {
  const dataDir = await pgliteFolder(t, 'legacy');
  const migrated = await dbMigrate({ dataDir });
  t.equal(migrated.code, 0, migrated.stderr);

  const pg = await openPglite(dataDir);
  try {
    const counted = (await pg.query(COUNTED)).rows;
    t.ok(counted.length > 1, 'the backup has orders of several statuses');
    t.same((await pg.query(KEPT)).rows, counted, 'filled by the migration');
    await pg.exec(`
      insert into orders (id, external_id, order_number, ttn, quantity, status, status_text, items, raw_data)
        select 'kept-' || g, 'kept-' || g, 'kept-' || g, '', 1, (1 + g % 3)::text, 'x', '[]', '{}' from generate_series(1, 50) g;
      update orders set status = '4' where id in (select id from orders order by id limit 40);
      delete from orders where id in (select id from orders where status = '2' order by id limit 10);`);
    t.same((await pg.query(KEPT)).rows, (await pg.query(COUNTED)).rows, 'kept by the triggers');
  } finally {
    await pg.close();
  }

  const rolledBack = await dbRollback({ dataDir });
  t.equal(rolledBack.code, 0, rolledBack.stderr);
  t.match(rolledBack.stdout, /order_status_counts +\d+ +- +dropped: the legacy back office counts the orders table itself/);
  const after = await openPglite(dataDir);
  try {
    const left = await after.query(
      `select (select count(*) from pg_class where relname = 'order_status_counts')::int as tables,
              (select count(*) from pg_proc where proname like 'order_status_counts%')::int as functions,
              (select count(*) from pg_trigger where tgname like 'orders_status_counts%')::int as triggers`,
    );
    t.same(left.rows, [{ tables: 0, functions: 0, triggers: 0 }], 'nothing of it is left');
  } finally {
    await after.close();
  }
});
