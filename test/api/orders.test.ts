/** Orders through HTTP: CRUD, ETags, status history, keyset pagination over the 800 legacy orders. */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor, count } = await testApp(t);
const admin = headersFor('admin');
const keeper = headersFor('storekeeper');

const newOrder = {
  id: '900001',
  externalId: 'WP-900001',
  orderNumber: '900001',
  quantity: 3,
  status: '1',
  items: [{ productName: 'Борщ український', quantity: 3, price: 121.77, sku: '01010' }],
  rawData: { id: 900001, source: 'test' },
  customerName: 'Шевчук Оксана',
  customerPhone: '+380670104729',
  totalPrice: '365.31',
  orderDate: '2026-11-20T08:37:00.748Z',
};

t.test('create, read, change, delete', async (t) => {
  const created = await app.inject({ method: 'POST', url: '/api/v1/orders', headers: admin, payload: newOrder });
  t.equal(created.statusCode, 201, created.body);
  t.equal(created.headers.location, '/api/v1/orders/900001');
  t.ok(created.headers.etag);
  const body = created.json();
  t.equal(body.statusText, 'Новий', 'statusText follows status');
  t.equal(body.totalPrice, '365.31', 'money as a decimal string');
  t.equal(body.orderDate, '2026-11-20T08:37:00.748Z', 'timestamps as ISO 8601 UTC');
  t.equal(body.ttn, '');
  t.equal(body.syncStatus, 'pending');

  const read = await app.inject({ url: '/api/v1/orders/900001', headers: keeper });
  t.equal(read.statusCode, 200);
  t.same(read.json(), body);
  t.equal(read.headers.etag, created.headers.etag, 'the same row has the same ETag');

  const byExternal = await app.inject({ url: '/api/v1/orders/by-external-id/WP-900001', headers: keeper });
  t.equal(byExternal.json().id, '900001');

  const patched = await app.inject({ method: 'PATCH', url: '/api/v1/orders/900001', headers: admin, payload: { ttn: '20450000999999' } });
  t.equal(patched.statusCode, 200);
  t.equal(patched.json().ttn, '20450000999999');
  t.not(patched.headers.etag, read.headers.etag);

  const deleted = await app.inject({ method: 'DELETE', url: '/api/v1/orders/900001', headers: admin });
  t.equal(deleted.statusCode, 204);
  t.equal((await app.inject({ url: '/api/v1/orders/900001', headers: admin })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/orders/900001', headers: admin })).statusCode, 404);
});

t.test('a stale If-Match gets 412 and changes nothing (two clerks, one order)', async (t) => {
  const read = await app.inject({ url: '/api/v1/orders/100010', headers: keeper });
  const etag = read.headers.etag as string;
  const first = await app.inject({
    method: 'PATCH',
    url: '/api/v1/orders/100010',
    headers: { ...keeper, 'if-match': etag },
    payload: { ttn: 'first-clerk' },
  });
  t.equal(first.statusCode, 200);
  const second = await app.inject({
    method: 'PATCH',
    url: '/api/v1/orders/100010',
    headers: { ...keeper, 'if-match': etag },
    payload: { ttn: 'second-clerk' },
  });
  t.equal(second.statusCode, 412);
  t.equal(second.json().code, 'PRECONDITION_FAILED');
  const [row] = await sql`select ttn from orders where id = '100010'`;
  t.equal(row!.ttn, 'first-clerk');
  const del = await app.inject({ method: 'DELETE', url: '/api/v1/orders/100010', headers: { ...admin, 'if-match': etag } });
  t.equal(del.statusCode, 412);
  t.equal(await count('orders'), 800, 'the delete did not happen');
  const fresh = await app.inject({
    method: 'PATCH',
    url: '/api/v1/orders/100010',
    headers: { ...keeper, 'if-match': first.headers.etag as string },
    payload: { ttn: 'third' },
  });
  t.equal(fresh.statusCode, 200, 'the current ETag matches');
});

t.test('a status change appends a history row, by the caller, in the same transaction', async (t) => {
  const before = await count('order_history');
  const res = await app.inject({ method: 'PATCH', url: '/api/v1/orders/100020', headers: keeper, payload: { status: '4' } });
  t.equal(res.statusCode, 200);
  t.equal(res.json().statusText, 'Відправлено');
  const [entry] =
    await sql`select status, status_text, source, user_id from order_history where order_id = '100020' order by changed_at desc limit 1`;
  t.same(entry, { status: '4', status_text: 'Відправлено', source: 'manual', user_id: 3 });
  t.equal(await count('order_history'), before + 1);
  const history = await app.inject({ url: '/api/v1/orders/100020/history', headers: keeper });
  t.equal(history.json().items[0].status, '4', 'newest first');

  const same = await app.inject({ method: 'PATCH', url: '/api/v1/orders/100020', headers: keeper, payload: { status: '4', ttn: 'x' } });
  t.equal(same.statusCode, 200);
  t.equal(await count('order_history'), before + 1, 'no entry when the status stays');

  // a failing update leaves no history behind: the unknown status without a label is refused
  const refused = await app.inject({ method: 'PATCH', url: '/api/v1/orders/100020', headers: keeper, payload: { status: '42' } });
  t.equal(refused.statusCode, 400);
  t.equal(await count('order_history'), before + 1);
  const labelled = await app.inject({
    method: 'PATCH',
    url: '/api/v1/orders/100020',
    headers: keeper,
    payload: { status: '42', statusText: 'Новий статус' },
  });
  t.equal(labelled.statusCode, 200);
  t.equal(await count('order_history'), before + 2);
});

t.test('keyset pagination walks all 800 legacy orders with no duplicate and no gap', async (t) => {
  for (const [sort, order] of [
    ['createdAt', 'desc'],
    ['orderDate', 'desc'],
    ['orderDate', 'asc'],
    ['lastSynced', 'asc'],
  ]) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { limit: '37', sort: sort!, order: order!, ...(cursor ? { cursor } : {}) };
      const res = await app.inject({ url: '/api/v1/orders', query, headers: keeper });
      t.equal(res.statusCode, 200);
      const page = res.json();
      seen.push(...page.items.map((o: { id: string }) => o.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    const expected = (
      await sql.unsafe(
        `select id from orders order by ${sort === 'createdAt' ? 'created_at' : sort === 'orderDate' ? 'order_date' : 'last_synced'} ${order}, id ${order}`,
      )
    ).map((r) => r.id);
    t.equal(new Set(seen).size, seen.length, `${sort} ${order}: no duplicate`);
    t.same(seen, expected, `${sort} ${order}: every order once, in order (${pages} pages)`);
  }
  const nulls = await sql`select count(*)::int as n from orders where order_date is null`;
  t.ok(nulls[0]!.n > 0, 'the walk by orderDate crossed orders without a date');
});

t.test('filters: status (several), sync status, phone, external ids, date range', async (t) => {
  const get = async (query: string) => (await app.inject({ url: `/api/v1/orders?limit=100&${query}`, headers: keeper })).json();
  const [{ n: newOrConfirmed }] =
    (await sql`select count(*)::int as n from orders where status in ('1', '2') and sync_status = 'error'`) as unknown as [{ n: number }];
  let total = 0;
  let page = await get('status=1&status=2&syncStatus=error');
  total += page.items.length;
  while (page.nextCursor) {
    page = await get(`status=1&status=2&syncStatus=error&cursor=${page.nextCursor}`);
    total += page.items.length;
  }
  t.equal(total, newOrConfirmed);
  const one = await get('status=5');
  const sold = await sql`select id from orders where status = '5' order by created_at desc, id desc limit 100`;
  t.ok(sold.length > 0, 'the legacy data has sold orders');
  t.same(
    one.items.map((o: { id: string }) => o.id),
    sold.map((o) => o.id),
    'exactly the sold orders, newest first',
  );
  const byPhone = await get('customerPhone=%2B380670104729');
  t.same(
    byPhone.items.map((o: { id: string }) => o.id),
    ['100001'],
  );
  const byExternal = await get('externalId=50001&externalId=WP-50054');
  t.same(byExternal.items.map((o: { id: string }) => o.id).sort(), ['100001', '100054']);
  const range = await get('from=2025-06-01T00:00:00Z&to=2025-06-01T23:59:59Z&order=asc');
  const thatDay =
    await sql`select id from orders where created_at between '2025-06-01T00:00:00Z' and '2025-06-01T23:59:59Z' order by created_at, id limit 100`;
  t.ok(thatDay.length > 0, 'the legacy data has orders that day');
  t.same(
    range.items.map((o: { id: string }) => o.id),
    thatDay.map((o) => o.id),
    'exactly the orders of that day, oldest first',
  );
});
