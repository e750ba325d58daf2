/** The happy path of every other resource: users, order history, products, box settings, the SKU cache. */
import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);
const admin = headersFor('admin');

async function crud(t: Test, base: string, created: Record<string, unknown>, change: Record<string, unknown>, headers = admin) {
  const post = await app.inject({ method: 'POST', url: base, headers, payload: created });
  t.equal(post.statusCode, 201, post.body);
  const location = post.headers.location as string;
  t.match(location, new RegExp(`^${base}/`));
  const get = await app.inject({ url: location, headers });
  t.equal(get.statusCode, 200);
  t.same(get.json(), post.json());
  const patch = await app.inject({
    method: 'PATCH',
    url: location,
    headers: { ...headers, 'if-match': get.headers.etag as string },
    payload: change,
  });
  t.equal(patch.statusCode, 200, patch.body);
  t.match(patch.json(), change);
  const list = await app.inject({ url: `${base}?limit=100`, headers });
  t.ok(
    list.json().items.some((row: { id: string | number }) => `${base}/${row.id}` === location),
    'listed',
  );
  const del = await app.inject({ method: 'DELETE', url: location, headers });
  t.equal(del.statusCode, 204);
  t.equal((await app.inject({ url: location, headers })).statusCode, 404);
  return { ...post.json(), changed: patch.json() };
}

t.test('products: CRUD, by SKU, search, category', async (t) => {
  const made = await crud(
    t,
    '/api/v1/products',
    { sku: 'T-001', name: 'Тестові вареники', costPerItem: '12.30', weight: 500, categoryName: 'Другі страви' },
    { costPerItem: '13.00', name: 'Інші вареники' },
  );
  t.equal(made.currency, 'UAH');
  const bySku = await app.inject({ url: '/api/v1/products/by-sku/01001', headers: admin });
  t.equal(bySku.json().name, 'Вареники з картоплею');
  const search = await app.inject({ url: `/api/v1/products?q=${encodeURIComponent('ГОЛУБЦІ')}&limit=100`, headers: admin });
  t.ok(
    search.json().items.length > 0 && search.json().items.every((p: { name: string }) => /голубці/i.test(p.name)),
    'case-insensitive name search',
  );
  const wildcard = await app.inject({ url: '/api/v1/products?q=%25', headers: admin });
  t.same(wildcard.json().items, [], '% is a character, not a wildcard');
  const category = await app.inject({ url: `/api/v1/products?categoryName=${encodeURIComponent('Салати')}&limit=100`, headers: admin });
  const [{ n }] = (await sql`select count(*)::int as n from products where category_name = 'Салати'`) as unknown as [{ n: number }];
  t.equal(category.json().items.length, n);
  const duplicate = await app.inject({ method: 'POST', url: '/api/v1/products', headers: admin, payload: { sku: '01001', name: 'x' } });
  t.equal(duplicate.statusCode, 409, 'a duplicate SKU is a conflict');
  t.equal(duplicate.json().code, 'CONFLICT');
});

t.test('box settings: CRUD and which box takes N portions', async (t) => {
  await crud(
    t,
    '/api/v1/box-settings',
    { name: 'Коробка T', marking: 'T1', qntFrom: 1, qntTo: 2, width: 10, height: 10, length: 10, weight: '0.50', selfWeight: '0.10' },
    { overflow: 2, isActive: false },
  );
  const recommend = async (n: number) =>
    (await app.inject({ url: `/api/v1/box-settings/recommend?portions=${n}`, headers: headersFor('storekeeper') }))
      .json()
      .items.map((b: { marking: string }) => b.marking);
  t.same(await recommend(2), ['XS2'], '1–3 portions: XS2');
  t.same(await recommend(7), [], 'M5 (6–9) is inactive, and nothing else takes 7');
  t.same(await recommend(16), ['M2', 'NK'], 'M2 takes 15 + 1 overflow; smallest first');
  t.same(await recommend(38), ['XL1'], 'XL1 takes 36 + 2 overflow');
  t.same(await recommend(39), []);
  const inverted = await app.inject({
    method: 'POST',
    url: '/api/v1/box-settings',
    headers: admin,
    payload: { name: 'B', marking: 'B', qntFrom: 9, qntTo: 2, width: 1, height: 1, length: 1, weight: '1', selfWeight: '1' },
  });
  t.equal(inverted.statusCode, 400, 'an inverted portion range breaks a rule');
  t.equal(inverted.json().code, 'CHECK_VIOLATION');
});

t.test('WordPress SKU cache: CRUD, total follows the list', async (t) => {
  const made = await crud(t, '/api/v1/wordpress-sku-cache', { skus: ['01001', '01002', '01003'] }, { skus: ['01001'] });
  t.equal(made.totalCount, 3);
  t.equal(made.changed.totalCount, 1, 'a new list: the total follows it');
  const given = await app.inject({
    method: 'POST',
    url: '/api/v1/wordpress-sku-cache',
    headers: admin,
    payload: { skus: ['01001'], totalCount: 7 },
  });
  t.equal(given.json().totalCount, 7, 'unless the total is given');
  const [row] = await sql`select total_count from wordpress_sku_cache where id = 1`;
  t.equal(row!.total_count, 99);
});

t.test('order history: append, read, list by order; never changed or deleted', async (t) => {
  const keeper = headersFor('storekeeper');
  const post = await app.inject({
    method: 'POST',
    url: '/api/v1/order-history',
    headers: keeper,
    payload: { orderId: '100003', status: '3', source: 'manual', notes: 'packed' },
  });
  t.equal(post.statusCode, 201, post.body);
  t.match(post.json(), { orderId: '100003', status: '3', statusText: 'На відправку', userId: 3, notes: 'packed' });
  t.equal((await app.inject({ url: post.headers.location as string, headers: keeper })).statusCode, 200);
  const list = await app.inject({ url: '/api/v1/order-history?orderId=100003', headers: keeper });
  t.equal(list.json().items[0].id, post.json().id, 'newest first');
  const missingOrder = await app.inject({
    method: 'POST',
    url: '/api/v1/order-history',
    headers: keeper,
    payload: { orderId: 'nope', status: '3', source: 'manual' },
  });
  t.equal(missingOrder.statusCode, 409, 'an entry for an order that does not exist is refused');
  for (const method of ['PATCH', 'DELETE'] as const) {
    const res = await app.inject({
      method,
      url: post.headers.location as string,
      headers: admin,
      payload: method === 'PATCH' ? { notes: 'x' } : undefined,
    });
    t.equal(res.statusCode, 404, `${method}: no such route`);
  }
  let walked = 0;
  let cursor: string | null = null;
  do {
    const page: { items: unknown[]; nextCursor: string | null } = (
      await app.inject({ url: `/api/v1/order-history?limit=100${cursor ? `&cursor=${cursor}` : ''}`, headers: keeper })
    ).json();
    walked += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  t.equal(walked, 2589, 'keyset pagination walks the whole history');
});

t.test('users: admin CRUD; a user reads and updates only their own profile', async (t) => {
  const made = await crud(
    t,
    '/api/v1/users',
    { email: 'New.Clerk@NK-food.shop', role: 'storekeeper', password: 'a-long-Passw0rd', name: 'Новий' },
    { name: 'Нова', roleName: 'Комірник' },
  );
  t.equal(made.email, 'new.clerk@nk-food.shop', 'e-mail stored in lower case');
  const self = headersFor('user'); // user id 8
  t.equal((await app.inject({ url: '/api/v1/users/8', headers: self })).statusCode, 200, 'own profile');
  t.equal((await app.inject({ url: '/api/v1/users/9', headers: self })).statusCode, 403, "someone else's");
  const rename = await app.inject({ method: 'PATCH', url: '/api/v1/users/8', headers: self, payload: { name: 'Наталія Т.' } });
  t.equal(rename.statusCode, 200);
  const promote = await app.inject({ method: 'PATCH', url: '/api/v1/users/8', headers: self, payload: { role: 'admin' } });
  t.equal(promote.statusCode, 403, 'no one promotes themselves');
  const [row] = await sql`select role from users where id = 8`;
  t.equal(row!.role, 'user');
  const taken = await app.inject({ method: 'PATCH', url: '/api/v1/users/8', headers: self, payload: { email: 'BOSS@nk-food.shop' } });
  t.equal(taken.statusCode, 409, 'an e-mail in use, whatever its case');
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/users/8', headers: self })).statusCode, 403);
  const nothing = await app.inject({
    method: 'PATCH',
    url: '/api/v1/users/8',
    headers: self,
    payload: { currentPassword: 'keeper-Passw0rd!' },
  });
  t.equal(nothing.statusCode, 400, 'currentPassword alone changes nothing: 400, not 500');
  t.equal(nothing.json().code, 'NOTHING_TO_CHANGE');
});
