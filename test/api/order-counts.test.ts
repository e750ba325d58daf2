/**
 * GET /orders/counts without filters reads order_status_counts, which triggers on orders keep in
 * the writing transaction (migration 0010). These tests write orders from several connections at
 * once, through the API, the webhook and plain SQL, and hold the counts to count(*).
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { STATUS_TEXT } from '../../src/orders/statuses.js';
import { testApp } from '../helpers/app.js';
import { connect } from '../helpers/databases.js';

const SECRET = 'a-webhook-secret-of-salesdrive-0123456789';
const newOrder = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/new-order.json', import.meta.url), 'utf8'));
const { app, sql, db, headersFor } = await testApp(t, { salesdrive: { webhookSecret: SECRET, webhookRateLimit: 100_000 } });
const keeper = headersFor('storekeeper');
const STATUSES = Object.keys(STATUS_TEXT);

/** What count(*) says, as GET /orders/counts answers. */
async function counted() {
  const rows = await sql<{ status: string; n: number }[]>`select status, count(*)::int as n from orders group by status`;
  const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const { status, n } of rows) byStatus[status] = n;
  return { total: rows.reduce((sum, { n }) => sum + n, 0), byStatus };
}
const answered = async () => {
  const res = await app.inject({ url: '/api/v1/orders/counts', headers: keeper });
  t.equal(res.statusCode, 200, res.body);
  return res.json();
};

t.test('the migration filled the counts from the orders of the legacy backup', async (t) => {
  const expected = await counted();
  t.ok(expected.total > 0, 'the backup has orders');
  t.same(await answered(), expected);
  const [summary] = await sql`select count(*)::int as rows from order_status_counts`;
  t.ok(summary!.rows <= Object.keys(expected.byStatus).length, 'a row per status to begin with');
});

t.test('several connections insert, change status, delete and roll back at once: the counts stay count(*)', async (t) => {
  const writers = Array.from({ length: 6 }, () => connect(db.url, { max: 1 }));
  t.teardown(() => Promise.all(writers.map((w) => w.end())));
  const pick = (i: number) => STATUSES[i % STATUSES.length]!;
  const work = writers.map(async (w, k) => {
    for (let i = 0; i < 25; i++) {
      const id = `counts-${k}-${i}`;
      await w`insert into orders (id, external_id, order_number, ttn, quantity, status, status_text, items, raw_data)
              values (${id}, ${id}, ${id}, '', 1, ${pick(k + i)}, 'x', '[]', '{}')`;
      // a statement that changes many orders, some to the status they have
      await w`update orders set status = ${pick(i)} where id in (select id from orders where id like ${`counts-${k}-%`} order by id limit 5)`;
      await w.begin(async (tx) => {
        await tx`update orders set status = ${pick(i + 3)} where id = ${id}`;
        await tx`update orders set status = ${pick(i + 4)} where id = ${id}`;
      });
      // rolled back: changes nothing
      await w
        .begin(async (tx) => {
          await tx`update orders set status = ${pick(i + 5)} where id like ${`counts-${k}-%`}`;
          await tx`delete from orders where id = ${id}`;
          throw new Error('roll back');
        })
        .catch(() => undefined);
      if (i % 3 === 0) await w`delete from orders where id = ${id}`;
    }
  });
  // meanwhile, the API and the webhook change orders of the backup
  const [...existing] = await sql<{ id: string }[]>`select id from orders order by id limit 30`;
  const api = (async () => {
    for (const [i, { id }] of existing.entries()) {
      const res = await app.inject({ method: 'PATCH', url: `/api/v1/orders/${id}`, headers: keeper, payload: { status: pick(i + 1) } });
      t.equal(res.statusCode, 200, res.body);
    }
  })();
  const webhook = (async () => {
    for (let i = 0; i < 30; i++) {
      const payload = structuredClone(newOrder);
      payload.info.webhookEvent = i % 2 ? 'status_change' : 'new_order';
      Object.assign(payload.data, { id: 900000 + (i % 15), statusId: 1 + (i % 8) });
      const res = await app.inject({ method: 'POST', url: `/api/v1/webhooks/salesdrive?token=${SECRET}`, payload });
      t.ok(res.statusCode < 300, res.body);
    }
  })();
  await Promise.all([...work, api, webhook]);
  t.same(await answered(), await counted(), 'GET /orders/counts is count(*) by status');
  const [slots] = await sql`select count(*)::int as rows from order_status_counts`;
  t.ok(slots!.rows <= 16 * STATUSES.length + STATUSES.length, `a few rows whatever the orders (${slots!.rows})`);
});

t.test('a TRUNCATE empties the counts; filtered counts still count the orders', async (t) => {
  const filtered = (await app.inject({ url: '/api/v1/orders/counts?syncStatus=success', headers: keeper })).json();
  const [success] = await sql`select count(*)::int as n from orders where sync_status = 'success'`;
  t.equal(filtered.total, success!.n, 'a filter: counted from the orders');
  await sql`truncate orders cascade`;
  t.same(await answered(), await counted());
  t.equal((await answered()).total, 0);
});
