/**
 * The reconciliation with SalesDrive (issue 27): a local stand-in of SalesDrive's `order/list`
 * (a real HTTP server on port 0) answering as the old back office read it (`Form-Api-Key`,
 * `filter[updateAt][from|to]`, `page`, `limit`; list orders shaped as its `formatOrder` reads them,
 * test/fixtures/salesdrive/order-list.json). An order whose webhook was lost is created, a change the
 * webhooks missed is applied, a repeat changes nothing (history once), an older list entry is stale,
 * many orders are paged, the high-water mark moves only after a complete read, and one order can be
 * re-read on demand.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { testApp } from '../helpers/app.js';

const API_KEY = 'salesdrive-list-key-never-logged-0123';
const fixture = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/order-list.json', import.meta.url), 'utf8')) as {
  data: Record<string, unknown>[];
};

let mode: 'up' | 'down' | 'refusing' = 'up';
const orders: Record<string, unknown>[] = structuredClone(fixture.data);
const asked: URLSearchParams[] = [];
const salesdrive = createServer((request, response) => {
  const url = new URL(request.url!, 'http://salesdrive');
  const json = (status: number, body: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (url.pathname !== '/api/order/list/') return json(404, { status: 'error', message: 'not found' });
  if (request.headers['form-api-key'] !== API_KEY) return json(401, { status: 'error', message: 'Invalid Form-Api-Key' });
  asked.push(url.searchParams);
  if (mode === 'down') return response.writeHead(503).end('<h1>503</h1>');
  if (mode === 'refusing') return json(200, { status: 'error', message: 'Too many requests for this key' });
  const q = url.searchParams;
  const [from, to, id] = [q.get('filter[updateAt][from]'), q.get('filter[updateAt][to]'), q.get('filter[id][from]')];
  const matching = orders.filter((o) =>
    id ? String(o.id) === id : (!from || String(o.updateAt) >= from) && (!to || String(o.updateAt) <= to),
  );
  const [page, limit] = [Number(q.get('page')), Number(q.get('limit'))];
  json(200, { status: 'success', data: matching.slice((page - 1) * limit, page * limit), totals: { count: matching.length } });
});
await new Promise<void>((resolve) => salesdrive.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => salesdrive.close(() => resolve())));
const url = `http://127.0.0.1:${(salesdrive.address() as AddressInfo).port}`;

const { app, sql, headersFor, logs } = await testApp(t, {
  salesdrive: {
    webhookRateLimit: 600,
    push: { url, apiKey: API_KEY, formKey: 'form-key', timeout: 2, retryDelay: 1, reconcileInterval: 0, reconcileOverlap: 600 },
  },
});
const admin = headersFor('admin');
const kyiv = (instant: Date) => instant.toLocaleString('sv-SE', { timeZone: 'Europe/Kyiv', hour12: false });
const recentKyiv = (secondsAgo: number) => kyiv(new Date(Date.now() - secondsAgo * 1000));
// the fixture's orders were updated minutes ago: within a first run's day
orders.forEach((o, i) => (o.updateAt = recentKyiv(300 - i)));

async function runs(outcome: 'succeeded' | 'failed') {
  const metric = await app.metrics.registry.getSingleMetric('backoffice_salesdrive_reconcile_runs_total')!.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}
async function found(result: string) {
  const metric = await app.metrics.registry.getSingleMetric('backoffice_salesdrive_reconciled_orders_total')!.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}
/** POST /orders/reconcile (202 at once), then wait until the run has ended. */
async function reconcileNow(): Promise<'succeeded' | 'failed'> {
  const [succeeded, failed] = [await runs('succeeded'), await runs('failed')];
  const res = await app.inject({ method: 'POST', url: '/api/v1/orders/reconcile', headers: admin });
  if (res.statusCode !== 202) throw new Error(`POST /orders/reconcile: ${res.statusCode} ${res.body}`);
  for (;;) {
    if ((await runs('succeeded')) > succeeded) return 'succeeded';
    if ((await runs('failed')) > failed) return 'failed';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const history = (id: string) => sql`select status, source from order_history where order_id = ${id} order by changed_at`;

t.test(
  'orders whose webhook was lost are created from the list, shaped as the webhook stores them; a second run changes nothing',
  async (t) => {
    t.equal(await reconcileNow(), 'succeeded');
    const [order] =
      await sql`select external_id, status, status_text, ttn, quantity, items, customer_name, customer_phone, city_name, provider, total_price, delivery_address from orders where id = '900001'`;
    t.same(order, {
      external_id: 'SD900001',
      status: '2',
      status_text: 'Підтверджено',
      ttn: '20450912345690',
      quantity: 3,
      items: [{ productName: 'Вареники з картоплею', quantity: 3, price: 121.77, sku: '01001' }],
      customer_name: 'Коваленко Іван Петрович',
      customer_phone: '+380501234567',
      city_name: 'Київ',
      provider: 'novaposhta',
      total_price: '365.31',
      delivery_address: 'Відділення №7: вул. Хрещатик, 22',
    });
    const [other] = await sql`select external_id, provider, city_name, customer_phone, quantity from orders where id = '900002'`;
    t.same(
      other,
      { external_id: '73460', provider: 'ukrposhta', city_name: 'Полтава', customer_phone: '+380931112233', quantity: 1 },
      'ukrposhta; a phone as a string; kilTPorcij {} falls back to the lines',
    );
    t.same(await history('900001'), [{ status: '2', source: 'salesdrive' }], 'its first status, from the reconciliation');
    t.equal(await found('created'), 2);
    t.equal(asked[0]!.get('limit'), '100');
    t.ok(
      asked.every((q) => q.get('filter[updateAt][to]')),
      'by updateAt',
    );

    t.equal(await reconcileNow(), 'succeeded');
    t.equal(await found('unchanged'), 2, 'the same orders again: unchanged');
    t.same(await history('900001'), [{ status: '2', source: 'salesdrive' }], 'history written once');
    const [mark] = await sql`select mark from feed_marks where name = 'salesdrive-order-list'`;
    const from = asked.at(-1)!.get('filter[updateAt][from]');
    t.ok(mark, 'the mark is stored');
    t.ok(
      from! < kyiv(mark!.mark) && from! >= kyiv(new Date(mark!.mark.getTime() - 3600_000)),
      'the next run reads from the mark less the overlap',
    );
    t.notOk(logs.join('').includes(API_KEY), 'the key in no log line');
  },
);

t.test('a change the webhooks missed is applied, with its history; an entry older than the order is stale', async (t) => {
  const order = orders[0]!;
  order.statusId = 3;
  order.updateAt = recentKyiv(10);
  t.equal(await reconcileNow(), 'succeeded');
  t.same((await sql`select status from orders where id = '900001'`)[0], { status: '3' });
  t.same(await history('900001'), [
    { status: '2', source: 'salesdrive' },
    { status: '3', source: 'salesdrive' },
  ]);

  await sql`update orders set salesdrive_updated_at = now() + interval '1 hour', status = '4' where id = '900002'`;
  orders[1]!.statusId = 6;
  orders[1]!.updateAt = recentKyiv(5);
  const stale = await found('stale');
  t.equal(await reconcileNow(), 'succeeded');
  t.equal(await found('stale'), stale + 1, 'older than what the order holds: stale');
  t.same((await sql`select status from orders where id = '900002'`)[0], { status: '4' }, 'nothing changed');
});

t.test('many orders are read page by page', async (t) => {
  const base = fixture.data[0]!;
  for (let i = 0; i < 230; i++) orders.push({ ...structuredClone(base), id: 910000 + i, updateAt: recentKyiv(60) });
  const before = asked.length;
  t.equal(await reconcileNow(), 'succeeded');
  t.same(
    asked.slice(before).map((q) => q.get('page')),
    ['1', '2', '3'],
    'three pages of 100',
  );
  t.same(await sql`select count(*)::int as n from orders where id::text like '910%' and length(id) = 6`, [{ n: 230 }]);
});

t.test('SalesDrive down or refusing: the run fails, the mark stays, nothing changes', async (t) => {
  const [mark] = await sql`select mark from feed_marks`;
  for (const failing of ['down', 'refusing'] as const) {
    mode = failing;
    t.equal(await reconcileNow(), 'failed', failing);
  }
  mode = 'up';
  t.same(await sql`select mark from feed_marks`, [mark], 'the mark did not move');
});

t.test('one order re-read on demand', async (t) => {
  const refresh = (id: string, role: 'admin' | 'storekeeper' | 'ads-manager' = 'storekeeper') =>
    app.inject({ method: 'POST', url: `/api/v1/orders/${id}/refresh`, headers: headersFor(role) });
  const same = await refresh('900001');
  t.equal(same.statusCode, 200, same.body);
  t.same(same.json(), { result: 'unchanged', orderId: '900001', statusKept: false });
  (orders[0]!.ord_delivery_data as { trackingNumber: string }[])[0]!.trackingNumber = '20450912345691';
  orders[0]!.updateAt = recentKyiv(1);
  t.same((await refresh('900001')).json(), { result: 'updated', orderId: '900001', statusKept: false });
  t.same((await sql`select ttn from orders where id = '900001'`)[0], { ttn: '20450912345691' });
  t.equal((await refresh('999999')).statusCode, 404, 'SalesDrive has no such order');
  t.equal((await refresh('900001', 'ads-manager')).statusCode, 403);
  mode = 'down';
  const down = await refresh('900001');
  mode = 'up';
  t.equal(down.statusCode, 502);
  t.equal(down.json().code, 'SALESDRIVE_UNAVAILABLE');
  orders.push({ ...structuredClone(fixture.data[0]!), id: 920001, paymentAmount: 10.005 });
  const invalid = await refresh('920001');
  t.equal(invalid.statusCode, 502);
  t.match(invalid.json().message, /paymentAmount/);
});

t.test('only an admin starts a run; without SALESDRIVE_URL it is off', async (t) => {
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/orders/reconcile', headers: headersFor('boss') })).statusCode, 403);
  const off = await testApp(t);
  const res = await off.app.inject({ method: 'POST', url: '/api/v1/orders/reconcile', headers: off.headersFor('admin') });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'SALESDRIVE_DISABLED');
});
