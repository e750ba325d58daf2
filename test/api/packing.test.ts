/**
 * What the packing station asks of the API (issue 19), through HTTP on the migrated legacy backup:
 * packing plans, the list's counts and search, one order in one call with its neighbours, the
 * weight check and the shop's tolerance, each allowed to the roles that pack.
 */
import t from 'tap';
import type { Role } from '../../src/db/schema.js';
import { STATUS_TEXT } from '../../src/orders/statuses.js';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);
const keeper = headersFor('storekeeper');
const admin = headersFor('admin');
const get = (url: string, role: Role = 'storekeeper') => app.inject({ url, headers: headersFor(role) });

type Plan = {
  mode: string;
  portions: number;
  boxes: { id: number; marking: string; count: number; portions: number[] }[];
  capacity: number;
  weight: string;
  overflow: number;
};
const boxCount = (plan: Plan) => plan.boxes.reduce((s, b) => s + b.count, 0);

t.test('packing plans from the active boxes, both modes, for any N', async (t) => {
  const plan = async (n: number, mode?: string) => {
    const res = await get(`/api/v1/box-settings/recommend?portions=${n}${mode ? `&mode=${mode}` : ''}`);
    t.equal(res.statusCode, 200, res.body);
    return res.json<Plan & { items: { marking: string }[] }>();
  };
  const forty = await plan(40);
  t.equal(forty.mode, 'spacious', 'spacious is the default');
  t.same(
    forty.boxes.map((b) => [b.marking, b.count]),
    [
      ['XL1', 1],
      ['S3', 1],
    ],
    '40 portions, more than the largest box: XL1 and S3',
  );
  t.same([forty.capacity, forty.weight, forty.overflow, forty.items], [41, '1.45', 0, []]);
  const economical = await plan(37, 'economical');
  t.same(
    economical.boxes.map((b) => [b.marking, b.portions]),
    [['XL1', [37]]],
    'economical: one XL1 with 1 over its 36',
  );
  t.equal(economical.overflow, 1);
  t.equal(boxCount(await plan(37, 'spacious')), 2, 'spacious: two boxes for 37');

  const [inactive] = await sql`select id from box_settings where is_active = false`;
  const problems: string[] = [];
  for (let n = 1; n <= 120; n++) {
    const [spacious, eco] = [await plan(n, 'spacious'), await plan(n, 'economical')];
    for (const p of [spacious, eco]) {
      if (p.boxes.flatMap((b) => b.portions).reduce((a, b) => a + b, 0) !== n) problems.push(`${n} ${p.mode}: does not hold N`);
      if (p.boxes.some((b) => b.id === inactive!.id)) problems.push(`${n} ${p.mode}: the inactive box`);
    }
    if (boxCount(eco) > boxCount(spacious)) problems.push(`${n}: economical uses more boxes`);
  }
  t.same(problems, [], 'N = 1 … 120: holds N, no inactive box, economical never uses more boxes');
  t.same(await plan(16), await plan(16), 'the same N, the same plan');

  t.equal((await get('/api/v1/box-settings/recommend?portions=5&mode=cheapest')).statusCode, 400, 'an unknown mode');
  t.equal((await get('/api/v1/box-settings/recommend?portions=10001')).statusCode, 400, 'beyond the documented limit');
  t.equal(
    (
      await app.inject({
        method: 'POST',
        url: '/api/v1/box-settings',
        headers: admin,
        payload: { name: 'Порожня', marking: 'Z', qntFrom: 0, qntTo: 0, width: 1, height: 1, length: 1, weight: '0', selfWeight: '0' },
      })
    ).statusCode,
    400,
    'a box that holds no portion is refused',
  );

  await sql`update box_settings set is_active = false`;
  const none = await get('/api/v1/box-settings/recommend?portions=5');
  t.equal(none.statusCode, 409, 'no active box: 409, not an empty plan');
  t.equal(none.json().code, 'NO_ACTIVE_BOX');
  await sql`update box_settings set is_active = (id <> ${inactive!.id})`;
});

t.test('counts by status, with the list filters (status aside), in one query', async (t) => {
  const res = await get('/api/v1/orders/counts');
  t.equal(res.statusCode, 200, res.body);
  const rows = await sql`select status, count(*)::int as n from orders group by status`;
  const expected = Object.fromEntries(Object.keys(STATUS_TEXT).map((s) => [s, 0]));
  for (const r of rows) expected[r.status] = r.n;
  t.same(res.json(), { total: rows.reduce((s, r) => s + r.n, 0), byStatus: expected });

  const filtered = (await get('/api/v1/orders/counts?syncStatus=error&from=2025-06-01T00:00:00Z')).json();
  const [filteredCount] =
    await sql`select count(*)::int as n from orders where sync_status = 'error' and created_at >= '2025-06-01T00:00:00Z'`;
  t.equal(filtered.total, filteredCount!.n, 'syncStatus and from, as the list takes them');
  const searched = (await get('/api/v1/orders/counts?q=%D1%88%D0%B5%D0%B2%D1%87%D1%83%D0%BA')).json(); // шевчук
  const [searchedCount] = await sql`select count(*)::int as n from orders where customer_name ilike '%шевчук%'`;
  t.equal(searched.total, searchedCount!.n, 'and q');
  t.equal((await get('/api/v1/orders/counts?status=1')).statusCode, 400, 'status is not a counts filter');
});

t.test('q searches order number, TTN, customer name and phone, ignoring case', async (t) => {
  const search = async (q: string, extra = '') => {
    const res = await get(`/api/v1/orders?q=${encodeURIComponent(q)}&limit=100${extra}`);
    t.equal(res.statusCode, 200, res.body);
    return (res.json().items as { id: string }[]).map((o) => o.id).sort();
  };
  const oracle = async (q: string) =>
    (
      await sql`select id from orders where order_number ilike ${`%${q}%`} or ttn ilike ${`%${q}%`} or customer_name ilike ${`%${q}%`} or customer_phone ilike ${`%${q}%`} order by id`
    )
      .map((r) => r.id)
      .sort();
  const [withTtn] =
    await sql`select id, ttn, order_number, customer_name, customer_phone from orders where ttn <> '' and customer_name is not null order by id limit 1`;
  const lastDigits = withTtn!.ttn.slice(-5);
  for (const q of [
    lastDigits,
    withTtn!.order_number,
    withTtn!.customer_name.toLowerCase(),
    withTtn!.customer_name.toUpperCase(),
    withTtn!.customer_phone.slice(-7),
  ]) {
    const found = await search(q);
    t.ok(found.includes(withTtn!.id), `${q}: finds the order`);
    t.same(found, (await oracle(q)).slice(0, 100), `${q}: the orders whose fields contain it`);
  }
  t.same(await search('%_%'), await oracle('\\%\\_\\%'), '% and _ match themselves');
  t.same(
    await search(lastDigits, '&status=4&status=5'),
    (await sql`select id from orders where ttn ilike ${`%${lastDigits}%`} and status in ('4','5') order by id`).map((r) => r.id).sort(),
    'with the other filters',
  );
  t.equal((await get('/api/v1/orders?q=ab')).statusCode, 400, 'fewer than 3 characters');
  t.equal((await get('/api/v1/orders?q=a%0Ab')).statusCode, 400, 'a line break (the fields’ separator)');

  const plan = await sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    return tx.unsafe(
      `explain select id from orders where ("order_number" || chr(10) || "ttn" || chr(10) || coalesce("customer_name", '') || chr(10) || coalesce("customer_phone", '')) ilike '%12345%'`,
    );
  });
  t.match(plan.map((r) => r['QUERY PLAN']).join('\n'), /orders_search_idx/, 'the search expression is the trigram index’s');
});

t.test('one order in one call: history with user names, neighbours, the ETag a PATCH needs', async (t) => {
  const list = (await get('/api/v1/orders?status=5&sort=orderDate&order=asc&limit=30')).json().items as { id: string }[];
  const middle = list[10]!.id;
  const view = await get(`/api/v1/orders/${middle}?include=history&status=5&sort=orderDate&order=asc`);
  t.equal(view.statusCode, 200, view.body);
  const body = view.json();
  t.equal(body.previousId, list[9]!.id, 'previousId: the order before it in that list');
  t.equal(body.nextId, list[11]!.id, 'nextId: the order after it');
  const plain = await get(`/api/v1/orders/${middle}`);
  t.equal(view.headers.etag, plain.headers.etag, 'the order’s own ETag');
  const { history: _history, previousId: _previousId, nextId: _nextId, ...own } = body;
  t.same(Object.keys(body).slice(-3), ['history', 'previousId', 'nextId'], 'after the order’s own fields');
  t.equal(JSON.stringify(own), plain.body, 'the order’s own fields as a read writes them');
  t.notOk('history' in plain.json(), 'without include, the order alone');
  const history =
    await sql`select h.id, u.name as user_name from order_history h left join users u on u.id = h.user_id where order_id = ${middle} order by changed_at desc, h.id desc limit 20`;
  t.same(
    body.history.map((h: { id: string; userName: string | null }) => [h.id, h.userName]),
    history.map((h) => [h.id, h.user_name]),
    'newest first, with userName',
  );

  const first = (await get(`/api/v1/orders/${list[0]!.id}?include=history&status=5&sort=orderDate&order=asc`)).json();
  t.equal(first.previousId, null, 'the first of the list has no previous');
  t.equal(first.nextId, list[1]!.id);
  const patched = await app.inject({
    method: 'PATCH',
    url: `/api/v1/orders/${middle}`,
    headers: { ...keeper, 'if-match': view.headers.etag as string },
    payload: { status: '3' },
  });
  t.equal(patched.statusCode, 200, 'the ETag of the view is what If-Match takes');
  const after = (await get(`/api/v1/orders/${middle}?include=history&historyLimit=1`)).json();
  const [keeperName] = await sql`select name from users where id = 3`;
  t.same(
    [after.history.length, after.history[0].status, after.history[0].userName],
    [1, '3', keeperName!.name],
    'the new entry first, named after the storekeeper who made it',
  );
  t.equal((await get('/api/v1/orders/nope?include=history')).statusCode, 404);
  t.equal((await get(`/api/v1/orders/${middle}?include=everything`)).statusCode, 400);
});

t.test('the weight check: items, boxes, the shop’s tolerance, and what is missing', async (t) => {
  // an order whose every line is a plain product (not a set: test/api/packing-list.test.ts expands those) with a weight
  const [order] = await sql`
    select id, items, quantity from orders o
     where jsonb_array_length(items) > 1 and quantity between 1 and 36
       and not exists (select 1 from jsonb_array_elements(o.items) l left join products p on p.sku = l->>'sku'
                        where p.weight is null or p.set is not null and p.set not in ('[]'::jsonb, 'null'::jsonb))
     order by id limit 1`;
  const expectedItems = async (items: { sku: string; quantity: number }[]) => {
    let grams = 0;
    for (const line of items) grams += line.quantity * (await sql`select weight from products where sku = ${line.sku}`)[0]!.weight;
    return grams;
  };
  const res = await get(`/api/v1/orders/${order!.id}/expected-weight`);
  t.equal(res.statusCode, 200, res.body);
  const weight = res.json();
  const itemsWeight = await expectedItems(order!.items);
  const plan = (await get(`/api/v1/box-settings/recommend?portions=${order!.quantity}`)).json<Plan>();
  t.same(
    weight.boxes,
    plan.boxes.map(({ id, marking, count }) => ({ id, marking, count })),
    'the spacious plan for its quantity',
  );
  t.equal(weight.itemsWeight, itemsWeight, 'Σ quantity × product weight');
  t.equal(weight.boxesWeight, Math.round(Number(plan.weight) * 1000));
  t.equal(weight.expectedWeight, itemsWeight + weight.boxesWeight);
  const allowed = Math.max(Math.round(weight.expectedWeight * 0.05), 50);
  t.same(
    [weight.min, weight.max, weight.unit, weight.missing],
    [weight.expectedWeight - allowed, weight.expectedWeight + allowed, 'g', []],
    '5 % or 50 g, whichever is larger',
  );

  const given = (await get(`/api/v1/orders/${order!.id}/expected-weight?boxes=12:1,7:2,7:1`)).json();
  t.same(
    given.boxes,
    [
      { id: 12, marking: 'XL1', count: 1 },
      { id: 7, marking: 'XS2', count: 3 },
    ],
    'the boxes given, counted',
  );
  t.equal(given.boxesWeight, 1200 + 3 * 150);
  t.equal((await get(`/api/v1/orders/${order!.id}/expected-weight?boxes=999:1`)).statusCode, 400, 'an unknown box');
  t.equal((await get(`/api/v1/orders/${order!.id}/expected-weight?boxes=12`)).statusCode, 400, 'not id:count');

  // a product without a weight, and an SKU no product has: named, not counted as zero
  await sql`update products set weight = null where sku = '01002'`;
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/orders',
    headers: admin,
    payload: {
      id: 'w-1',
      externalId: 'w-1',
      orderNumber: 'w-1',
      quantity: 3,
      status: '2',
      items: [
        { productName: 'Голубці', quantity: 1, price: 68.09, sku: '01002' },
        { productName: 'Невідомий', quantity: 2, price: 10, sku: 'NO-SUCH' },
        { productName: 'Вареники з картоплею', quantity: 2, price: 121.77, sku: '01001' },
      ],
    },
  });
  t.equal(created.statusCode, 201, created.body);
  const partial = (await get('/api/v1/orders/w-1/expected-weight')).json();
  t.same(partial.missing, [
    { sku: '01002', quantity: 1, reason: 'no-weight' },
    { sku: 'NO-SUCH', quantity: 2, reason: 'no-product' },
  ]);
  t.equal(partial.itemsWeight, 2 * 817, 'only the line with a weight');

  // the tolerance is the admin's to change
  const settings = await get('/api/v1/shop-settings');
  t.same([settings.json().weightTolerancePercent, settings.json().weightToleranceGrams], ['5.00', 50]);
  for (const role of ['storekeeper', 'boss', 'shop-manager'] as const) {
    const refused = await app.inject({
      method: 'PATCH',
      url: '/api/v1/shop-settings',
      headers: headersFor(role),
      payload: { weightToleranceGrams: 1 },
    });
    t.equal(refused.statusCode, 403, `${role} may not change it`);
  }
  const changed = await app.inject({
    method: 'PATCH',
    url: '/api/v1/shop-settings',
    headers: { ...admin, 'if-match': settings.headers.etag as string },
    payload: { weightTolerancePercent: '10', weightToleranceGrams: 20 },
  });
  t.equal(changed.statusCode, 200, changed.body);
  const stale = await app.inject({
    method: 'PATCH',
    url: '/api/v1/shop-settings',
    headers: { ...admin, 'if-match': settings.headers.etag as string },
    payload: { weightToleranceGrams: 30 },
  });
  t.equal(stale.statusCode, 412, 'a stale If-Match');
  for (const payload of [{ weightTolerancePercent: '101' }, { weightToleranceGrams: -1 }, {}, { other: 1 }]) {
    t.equal(
      (await app.inject({ method: 'PATCH', url: '/api/v1/shop-settings', headers: admin, payload })).statusCode,
      400,
      JSON.stringify(payload),
    );
  }
  const wider = (await get(`/api/v1/orders/${order!.id}/expected-weight`)).json();
  const tenPercent = Math.round(wider.expectedWeight * 0.1);
  t.same(
    [wider.min, wider.max, wider.tolerance],
    [
      wider.expectedWeight - Math.max(tenPercent, 20),
      wider.expectedWeight + Math.max(tenPercent, 20),
      { percent: '10.00', grams: 20, allowed: Math.max(tenPercent, 20) },
    ],
    'the new tolerance applies',
  );
  t.equal((await get('/api/v1/orders/nope/expected-weight')).statusCode, 404);
});

t.test('the roles that pack may use every one of these routes', async (t) => {
  const [order] = await sql`select id from orders order by id limit 1`;
  const routes = [
    '/api/v1/box-settings/recommend?portions=12&mode=economical',
    '/api/v1/orders/counts',
    '/api/v1/orders?q=380',
    `/api/v1/orders/${order!.id}?include=history`,
    `/api/v1/orders/${order!.id}/expected-weight`,
    '/api/v1/shop-settings',
  ];
  for (const role of ['storekeeper', 'shop-manager', 'boss', 'admin'] as const) {
    for (const url of routes) t.equal((await get(url, role)).statusCode, 200, `${role}: ${url}`);
  }
  t.equal((await app.inject({ url: '/api/v1/orders/counts' })).statusCode, 401, 'not without a token');
});
