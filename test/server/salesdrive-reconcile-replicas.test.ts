/**
 * The reconciliation with two replicas on one database (each its own pg-boss), while SalesDrive's
 * webhook delivers some of the same orders at the same time: runs asked of both at once never read
 * SalesDrive together, and every order is stored once with one history row for its status. A replica
 * stopped mid-run leaves the mark where it was; the next run reads the same span again.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildApp, type App } from '../../src/app.js';
import { giveTestSessions, LOGINS, TEST_CONFIG, testSessionId } from '../helpers/app.js';
import { connect, migratedTemplate, scratchDatabase } from '../helpers/databases.js';

const API_KEY = 'salesdrive-list-key-never-logged-0123';
const SECRET = 'a-webhook-secret-of-salesdrive-0123456789';
const [template] = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/order-list.json', import.meta.url), 'utf8')).data as Record<
  string,
  unknown
>[];
const updateAt = new Date(Date.now() - 60_000).toLocaleString('sv-SE', { timeZone: 'Europe/Kyiv', hour12: false });
const orders = Array.from({ length: 150 }, (_, i) => ({ ...structuredClone(template!), id: 930000 + i, updateAt }));

let concurrent = 0;
let maxConcurrent = 0;
/** While set, SalesDrive holds every answer until it is released. */
let holding: { arrived: () => void; released: Promise<void> } | undefined;
async function answer(request: IncomingMessage, response: ServerResponse) {
  if (holding) {
    holding.arrived();
    await holding.released;
  }
  concurrent++;
  maxConcurrent = Math.max(maxConcurrent, concurrent);
  const q = new URL(request.url!, 'http://salesdrive').searchParams;
  const [page, limit] = [Number(q.get('page')), Number(q.get('limit'))];
  // a little slow, so that runs asked together would overlap if they could
  setTimeout(() => {
    concurrent--;
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: orders.slice((page - 1) * limit, page * limit), totals: { count: orders.length } }));
  }, 150);
}
const salesdrive = createServer((request, response) => void answer(request, response));
await new Promise<void>((resolve) => salesdrive.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => salesdrive.close(() => resolve())));

const db = await scratchDatabase(await migratedTemplate());
const sql = connect(db.url);
await giveTestSessions(sql);
const push = {
  url: `http://127.0.0.1:${(salesdrive.address() as AddressInfo).port}`,
  apiKey: API_KEY,
  formKey: 'f',
  timeout: 5,
  retryDelay: 1,
  reconcileInterval: 0,
};
const replica = () =>
  buildApp({ database: { url: db.url }, ...TEST_CONFIG, salesdrive: { webhookSecret: SECRET, webhookRateLimit: 10_000, push } });
const [a, b] = [await replica(), await replica()];
/** The replicas still running, closed at the end. */
const running = [a, b];
t.teardown(async () => {
  for (const app of running) await app.close();
  await sql.end();
  await db.drop();
});
const admin = (app: App) => ({
  authorization: `Bearer ${app.signAccessToken({ id: LOGINS.admin.id, role: 'admin', sessionId: testSessionId(LOGINS.admin.id), version: 0 })}`,
});
const runsEnded = async (app: App) => {
  const metric = await app.metrics.registry.getSingleMetric('backoffice_salesdrive_reconcile_runs_total')!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
};

t.test(
  'runs asked of both replicas at once, and the webhook delivering the same orders meanwhile: each order once, one history row',
  async (t) => {
    const asked = await Promise.all(
      [a, b, a, b].map((app) => app.inject({ method: 'POST', url: '/api/v1/orders/reconcile', headers: admin(app) })),
    );
    t.same(
      asked.map((res) => res.statusCode),
      [202, 202, 202, 202],
    );
    const newOrder = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/new-order.json', import.meta.url), 'utf8'));
    const webhooks = await Promise.all(
      [930000, 930001, 930002].map((id, i) =>
        (i % 2 ? a : b).inject({
          method: 'POST',
          url: `/api/v1/webhooks/salesdrive?token=${SECRET}`,
          payload: { ...newOrder, data: { ...newOrder.data, id, statusId: 2, updateAt } },
        }),
      ),
    );
    t.ok(
      webhooks.every((res) => res.statusCode === 200),
      'the webhook answered each',
    );
    for (let i = 0; i < 600 && (await runsEnded(a)) + (await runsEnded(b)) < 4; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    t.equal((await runsEnded(a)) + (await runsEnded(b)), 4, 'the four runs ended');
    t.equal(maxConcurrent, 1, 'SalesDrive never read by two runs at once');
    t.same(await sql`select count(*)::int as n from orders where id like '930%'`, [{ n: 150 }]);
    t.same(
      await sql`select count(*)::int as n from order_history where order_id like '930%' group by order_id having count(*) > 1`,
      [],
      'one history row per order',
    );
  },
);

t.test(
  'the replicas stopped mid-run: the run fails, the mark stays; the next run, on a new replica, reads the same span and completes',
  async (t) => {
    const [before] = await sql`select mark from feed_marks`;
    let arrived!: () => void;
    let release!: () => void;
    const reading = new Promise<void>((resolve) => (arrived = resolve));
    holding = { arrived, released: new Promise<void>((resolve) => (release = resolve)) };
    t.equal((await a.inject({ method: 'POST', url: '/api/v1/orders/reconcile', headers: admin(a) })).statusCode, 202);
    await reading; // a run (on either replica) is reading SalesDrive's first page
    const closing = Promise.all(running.splice(0).map((app) => app.close()));
    holding = undefined;
    release();
    await closing;
    t.same(await sql`select mark from feed_marks`, [before], 'the mark did not move');

    orders.push({ ...structuredClone(template!), id: 939999, updateAt });
    const d = await replica();
    running.push(d);
    t.equal((await d.inject({ method: 'POST', url: '/api/v1/orders/reconcile', headers: admin(d) })).statusCode, 202);
    for (let i = 0; i < 300 && (await runsEnded(d)) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const [after] = await sql`select mark from feed_marks`;
    t.ok(after!.mark > before!.mark, 'the next run moved it');
    t.same(await sql`select count(*)::int as n from orders where id = '939999'`, [{ n: 1 }], 'and stored what the stopped run had not');
  },
);
