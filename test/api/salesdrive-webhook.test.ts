/**
 * SalesDrive's webhook as SalesDrive meets it: payloads shaped field for field like SalesDrive's
 * (test/fixtures/salesdrive), replayed, duplicated concurrently, out of order, with fields missing,
 * with a bad or missing secret, against the migrated legacy database.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { SHARE_EVERY_MS } from '../../src/db/rate-limit-store.js';
import { testApp, writeLegacyValues } from '../helpers/app.js';

const SECRET = 'a-webhook-secret-of-salesdrive-0123456789';
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/salesdrive/${name}.json`, import.meta.url), 'utf8'));
const newOrder = fixture('new-order');
const statusChange = fixture('status-change');

/** A payload of order `id`, changed from the new-order fixture. */
function delivery(id: number, data: Record<string, unknown> = {}, event = 'status_change') {
  const payload = structuredClone(newOrder);
  payload.info.webhookEvent = event;
  Object.assign(payload.data, { id }, data);
  return payload;
}

/** SalesDrive's clock: Kyiv wall-clock time. */
const kyiv = (date: Date) =>
  new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Kyiv', dateStyle: 'short', timeStyle: 'medium' }).format(date);

const { app, sql, logs, headersFor, count } = await testApp(t, { salesdrive: { webhookSecret: SECRET, webhookRateLimit: 100_000 } });
const send = (payload: unknown, query = `?token=${SECRET}`, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/api/v1/webhooks/salesdrive${query}`, payload: payload as object, headers });
const order = async (id: number | string) => (await sql`select * from orders where id = ${String(id)}`)[0];
const history = async (id: number | string) =>
  sql`select status, status_text, source, user_id from order_history where order_id = ${String(id)} order by changed_at, id`;

t.test(
  'only SalesDrive gets in: a missing or wrong secret is 401 and changes nothing, and neither it nor the payload is logged',
  async (t) => {
    const orders = await count('orders');
    for (const [query, headers] of [
      ['', {}],
      ['?token=wrong', {}],
      [`?token=${SECRET}x`, {}],
      ['', { 'x-webhook-secret': SECRET.slice(0, -1) }],
    ] as const) {
      const response = await send(newOrder, query, headers);
      t.equal(response.statusCode, 401, `${query} ${JSON.stringify(headers)}`);
      t.equal(response.json().code, 'WEBHOOK_UNAUTHORIZED');
    }
    t.equal(await count('orders'), orders, 'nothing stored');
    t.notOk(await order(123460));
    const logged = logs.join('');
    t.notMatch(logged, 'Шевчук', 'no payload in the log');
    t.notMatch(logged, SECRET.slice(0, -1), 'no secret in the log');
    t.match(logged, 'SalesDrive webhook refused');
  },
);

t.test('a new order: every field the old back office read, times from Kyiv to UTC, the payload as received', async (t) => {
  const response = await send(newOrder);
  t.equal(response.statusCode, 200, response.body);
  t.same(response.json(), { result: 'created', orderId: '123460', statusKept: false });
  const read = await app.inject({ url: '/api/v1/orders/123460', headers: headersFor('storekeeper') });
  t.match(read.json(), {
    id: '123460',
    externalId: 'SD123460',
    orderNumber: 'SD123460',
    status: '1',
    statusText: 'Новий',
    ttn: '',
    quantity: 5,
    items: [
      { productName: 'Вареники з картоплею', quantity: 3, price: 121.77, sku: '01001' },
      { productName: 'Сирники №98', quantity: 2, price: 61.81, sku: '01098' },
    ],
    customerName: 'Шевчук Оксана',
    customerPhone: '+380670104729',
    deliveryAddress: 'Відділення №2: вул. Городоцька, 120',
    cityName: 'Львів',
    provider: 'novaposhta',
    shippingMethod: 'Нова Пошта',
    paymentMethod: 'Накладений платіж',
    totalPrice: '488.93',
    orderDate: '2026-11-30T09:15:00.000Z',
    salesdriveUpdatedAt: '2026-11-30T09:15:02.000Z',
    syncStatus: 'success',
  });
  t.same(read.json().rawData, newOrder, 'raw_data is the payload as received');
  t.same(await history(123460), [{ status: '1', status_text: 'Новий', source: 'webhook', user_id: null }]);
  const viaHeader = await send(newOrder, '', { 'x-webhook-secret': SECRET });
  t.equal(viaHeader.json().result, 'unchanged', 'the secret may come in X-Webhook-Secret');
});

t.test('the same delivery again: one row, one history entry', async (t) => {
  const again = await Promise.all([send(newOrder), send(newOrder), send(newOrder)]);
  t.same(
    again.map((r) => r.statusCode),
    [200, 200, 200],
  );
  t.same(
    again.map((r) => r.json().result),
    ['unchanged', 'unchanged', 'unchanged'],
  );
  t.equal((await sql`select count(*)::int as n from orders where id = '123460'`)[0]!.n, 1);
  t.equal((await history(123460)).length, 1);
});

t.test('a status change: the new status, the TTN, exactly one history row (source webhook)', async (t) => {
  const response = await send(statusChange);
  t.same(response.json(), { result: 'updated', orderId: '123460', statusKept: false });
  const row = await order(123460);
  t.match(row, { status: '3', status_text: 'На відправку', ttn: '20450912345678', external_id: 'SD123460' });
  t.same(
    (await history(123460)).map((h) => [h.status, h.source]),
    [
      ['1', 'webhook'],
      ['3', 'webhook'],
    ],
  );
  t.equal((await send(statusChange)).json().result, 'unchanged');
  t.equal((await history(123460)).length, 2);
});

t.test('a delivery older than the order (by updateAt) is acknowledged and changes nothing', async (t) => {
  const before = await order(123460);
  const response = await send(newOrder);
  t.equal(response.statusCode, 200);
  t.equal(response.json().result, 'stale');
  t.same(await order(123460), before);
  t.equal((await history(123460)).length, 2);
});

t.test('lenient where SalesDrive is loose', async (t) => {
  const loose = delivery(
    123461,
    {
      kilTPorcij: {},
      contacts: [{ fName: 'Іван', phone: '+380501112233' }],
      products: undefined,
      paymentAmount: '120.5',
      sajt: 12,
      externalId: 'WP-5501',
      statusId: '2',
    },
    'new_order',
  );
  delete loose.meta;
  delete loose.data.products;
  const response = await send(loose);
  t.equal(response.statusCode, 200, response.body);
  t.match(await order(123461), {
    status: '2',
    status_text: 'Підтверджено',
    quantity: 0,
    customer_name: 'Іван',
    customer_phone: '+380501112233',
    total_price: '120.50',
    external_id: 'WP-5501',
    shipping_method: null,
    items: [],
  });

  const onHold = await send(delivery(123461, { statusId: 9, updateAt: '2026-11-30 15:00:00' }));
  t.equal(onHold.json().result, 'updated');
  t.match(await order(123461), { status: '9', status_text: 'Новий' }, "the payload's own text wins (the fixture's meta says Новий)");
  const custom = delivery(123461, { statusId: 42, updateAt: '2026-11-30 15:01:00' });
  custom.meta.fields.statusId.options = [{ value: 42, text: 'Чекає на передзвін' }];
  t.equal((await send(custom)).statusCode, 200, "a status this service has no text for is the shop's own: stored, never refused");
  t.match(await order(123461), { status: '42', status_text: 'Чекає на передзвін' });
  const bare = delivery(123461, { statusId: 9, updateAt: '2026-11-30 15:02:00' });
  delete bare.meta;
  await send(bare);
  t.match(await order(123461), { status: '9', status_text: 'На утриманні' });

  const sdSite = delivery(123462, { externalId: null, sajt: '38' }, 'new_order');
  t.equal((await send(sdSite)).statusCode, 200);
  t.equal((await order(123462))!.external_id, 'SD123462', "SalesDrive's own sites without an external id get SD<id>");
});

t.test('statements built once per shape: NULL where a delivery has no value, and each change its own time', async (t) => {
  const undated = (data: Record<string, unknown>, event = 'status_change') => {
    const payload = delivery(123470, data, event);
    delete payload.data.updateAt;
    return payload;
  };
  t.equal((await send(undated({}, 'new_order'))).json().result, 'created');
  t.match(await order(123470), { salesdrive_updated_at: null, sync_error: null, status: '1' });
  const changedAt = async () => ((await order(123470))!.updated_at as Date).getTime();
  for (const statusId of [2, 3, 4]) {
    // the service runs in this process (app.inject): its clock is this one
    const sentAt = Date.now();
    t.equal((await send(undated({ statusId }))).json().result, 'updated', `status ${statusId}`);
    // a time computed when the statement was first built would be older than the later changes
    t.ok((await changedAt()) >= sentAt, `status ${statusId}: updated_at is the time of this change, not of the first`);
  }
  t.match(await order(123470), { salesdrive_updated_at: null, sync_error: null, status: '4' });
  t.same(
    (await history(123470)).map((h) => h.status),
    ['1', '2', '3', '4'],
  );
});

t.test('strict where it matters: a 400 that names the field, and nothing stored', async (t) => {
  const orders = await count('orders');
  const noId = structuredClone(newOrder);
  delete noId.data.id;
  const cases: [string, unknown, RegExp][] = [
    ['no data.id', noId, /data/],
    ['no data at all', { info: { webhookEvent: 'new_order' } }, /body.data is required/],
    ['data.id not an id', delivery(0, { id: 'abc' }, 'new_order'), /data\.id/],
    ['money beyond kopecks', delivery(123470, { paymentAmount: 10.255 }, 'new_order'), /data.paymentAmount/],
    ['negative money', delivery(123470, { paymentAmount: -5 }, 'new_order'), /data.paymentAmount/],
    ['a time that does not exist', delivery(123470, { orderTime: '2026-02-30 10:00:00' }, 'new_order'), /data.orderTime/],
    ['a leap second', delivery(123470, { updateAt: '2026-12-31 23:59:60' }, 'new_order'), /data.updateAt/],
    ['portions as text', delivery(123470, { kilTPorcij: 'five' }, 'new_order'), /data.kilTPorcij/],
    ['products not a list', delivery(123470, { products: 'borsch' }, 'new_order'), /products/],
  ];
  for (const [what, payload, message] of cases) {
    const response = await send(payload);
    t.equal(response.statusCode, 400, `${what}: ${response.body}`);
    t.match(response.json().message, message, what);
  }
  t.equal(await count('orders'), orders);
});

t.test('another event is acknowledged and changes nothing', async (t) => {
  const before = await order(123460);
  for (const payload of [delivery(123460, { statusId: 6 }, 'contact_update'), { info: { webhookEvent: 'ping' } }, {}]) {
    const response = await send(payload);
    t.equal(response.statusCode, 200, response.body);
    t.equal(response.json().result, 'ignored');
  }
  t.same(await order(123460), before);
});

t.test('concurrent deliveries of one order never answer 500 and end on the newest', async (t) => {
  const id = 123480;
  const versions = Array.from({ length: 8 }, (_, i) =>
    delivery(id, { statusId: (i % 7) + 1, updateAt: `2026-12-01 10:00:0${i}` }, i === 0 ? 'new_order' : 'status_change'),
  );
  const shuffled = [...versions, ...versions].sort(() => Math.random() - 0.5);
  const responses = await Promise.all(shuffled.map((payload) => send(payload)));
  t.same([...new Set(responses.map((r) => r.statusCode))], [200], 'every delivery is answered 200');
  const row = (await order(id))!;
  t.equal(row.status, '1', 'the newest delivery (10:00:07, status 1) is what the order holds');
  t.equal(row.salesdrive_updated_at.toISOString(), '2026-12-01T08:00:07.000Z');
  t.equal((await sql`select count(*)::int as n from orders where id = ${String(id)}`)[0]!.n, 1);

  // two first deliveries of one order meet: one row, one history entry
  const first = delivery(123481, {}, 'new_order');
  const both = await Promise.all([send(first), send(first), send(first), send(first)]);
  t.same(
    both.map((r) => r.statusCode),
    [200, 200, 200, 200],
  );
  t.same(both.map((r) => r.json().result).sort(), ['created', 'unchanged', 'unchanged', 'unchanged']);
  t.equal((await history(123481)).length, 1);
});

t.test("a clerk's change is not undone by a delivery older than it; a newer one applies", async (t) => {
  await send(delivery(123490, { statusId: 2, updateAt: kyiv(new Date(Date.now() - 60_000)) }, 'new_order'));
  const patched = await app.inject({
    method: 'PATCH',
    url: '/api/v1/orders/123490',
    headers: headersFor('storekeeper'),
    payload: { status: '3' },
  });
  t.equal(patched.statusCode, 200, patched.body);
  t.equal(patched.json().syncStatus, 'success', 'without SALESDRIVE_URL nothing is pushed and sync_status is left alone');
  // sent by SalesDrive before the clerk's change, arriving after it, with another field changed
  const older = await send(
    delivery(123490, { statusId: 2, updateAt: kyiv(new Date(Date.now() - 30_000)), shipping_address: 'Відділення №5' }),
  );
  t.same(older.json(), { result: 'updated', orderId: '123490', statusKept: true });
  t.match(
    await order(123490),
    { status: '3', delivery_address: 'Відділення №5' },
    "the clerk's status stays, the address is SalesDrive's newest",
  );
  const newer = await send(delivery(123490, { statusId: 4, updateAt: kyiv(new Date(Date.now() + 60_000)) }));
  t.equal(newer.json().statusKept, false);
  t.equal((await order(123490))!.status, '4');
  t.same(
    (await history(123490)).map((h) => [h.status, h.source]),
    [
      ['2', 'webhook'],
      ['3', 'manual'],
      ['4', 'webhook'],
    ],
  );
});

t.test('an external id that another order holds is a 409 naming the key, and nothing is stored', async (t) => {
  const taken = (await order(123461))!.external_id as string;
  const response = await send(delivery(123499, { externalId: taken }, 'new_order'));
  t.equal(response.statusCode, 409);
  t.match(response.json().message, /orders_external_id_key/);
  t.notOk(await order(123499));
});

t.test(
  'a legacy order whose values break a rule: a delivery that leaves them is a 409 naming them, one that corrects them applies',
  async (t) => {
    t.equal((await send(delivery(123480, {}, 'new_order'))).statusCode, 200);
    await writeLegacyValues(sql, 'orders', `update orders set quantity = -1, items = '{"legacy": true}' where id = '123480'`);
    const before = await order(123480);
    const refused = await send(delivery(123480, { statusId: 3, kilTPorcij: null, products: null, updateAt: kyiv(new Date()) }));
    t.equal(refused.statusCode, 409, refused.body);
    t.equal(refused.json().code, 'ORDER_NEEDS_CORRECTION');
    t.same(
      refused.json().fields.map((f: { field: string; value: unknown }) => [f.field, f.value]),
      [
        ['quantity', -1],
        ['items', { legacy: true }],
      ],
    );
    t.match(refused.json().message, /PATCH \/api\/v1\/orders\/123480/);
    t.same(await order(123480), before, 'nothing changed');
    t.match(logs.join(''), /"orderId":"123480","code":"ORDER_NEEDS_CORRECTION".*SalesDrive delivery not stored/);

    const corrects = await send(delivery(123480, { statusId: 3, updateAt: kyiv(new Date(Date.now() + 1000)) }));
    t.equal(corrects.statusCode, 200, corrects.body);
    t.match(await order(123480), { status: '3', quantity: 5 });
    t.ok(Array.isArray((await order(123480))!.items), "the items are the delivery's lines");
  },
);

t.test('a body over the limit is 413 and changes nothing', async (t) => {
  const big = delivery(123495, { comment: 'x'.repeat(600 * 1024) }, 'new_order');
  const response = await send(big);
  t.equal(response.statusCode, 413);
  t.notOk(await order(123495));
});

t.test('the webhook is disabled without SALESDRIVE_WEBHOOK_SECRET, and has its own rate limit', async (t) => {
  const disabled = await testApp(t);
  const orders = await disabled.count('orders');
  const refused = await disabled.app.inject({ method: 'POST', url: `/api/v1/webhooks/salesdrive?token=${SECRET}`, payload: newOrder });
  t.equal(refused.statusCode, 403);
  t.match(refused.json(), { code: 'WEBHOOK_DISABLED', message: /SALESDRIVE_WEBHOOK_SECRET/ });
  t.equal(await disabled.count('orders'), orders, 'nothing stored');

  const limited = await testApp(t, { salesdrive: { webhookSecret: SECRET, webhookRateLimit: 3 } });
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    statuses.push(
      (await limited.app.inject({ method: 'POST', url: `/api/v1/webhooks/salesdrive?token=${SECRET}`, payload: newOrder })).statusCode,
    );
  }
  t.same(statuses, [200, 200, 200, 429, 429]);
  // the first call of the window is written at once, the others together after SHARE_EVERY_MS: every replica sees them
  const sharedHits = async () =>
    (await limited.sql`select hits from rate_limits where key like 'POST /api/v1/webhooks/salesdrive %'`)[0]?.hits as number | undefined;
  let hits = await sharedHits();
  for (const end = Date.now() + 10_000; hits !== 5 && Date.now() < end; hits = await sharedHits()) {
    await new Promise((resolve) => setTimeout(resolve, SHARE_EVERY_MS));
  }
  t.equal(hits, 5, 'the database holds every call');
});
