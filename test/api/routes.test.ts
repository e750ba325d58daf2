/**
 * Every route of /api/v1: 401 without a token, 403 for a role that may not, 404 for what does not
 * exist, and bad input (unknown fields, wrong types, huge strings, out-of-range numbers, bad ids
 * and cursors) answered with the status meant (400; 415 for a body that is not JSON) and
 * changing nothing. No request here may get a 500.
 */
import type { InjectOptions } from 'fastify';
import t from 'tap';
import type { Role } from '../../src/db/schema.js';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);

interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The path as registered, e.g. /api/v1/orders/{id}. */
  route: string;
  url: string;
  body?: Record<string, unknown>;
  /** A role that may not call it. */
  forbidden?: Role;
  /** The same call on something that does not exist. */
  missing?: string;
  table?: string;
  /** Public routes answer without a token. */
  public?: true;
  extraBad?: InjectOptions[];
  /**
   * Takes a body as its sender shapes it (unknown fields kept): its own file checks its input
   * (test/api/salesdrive-webhook.test.ts); here, on an app without its secret, it refuses everything.
   */
  webhook?: true;
}

const order = {
  id: '910001',
  externalId: 'X-910001',
  orderNumber: '910001',
  quantity: 1,
  status: '1',
  items: [{ productName: 'Борщ', quantity: 1, price: 10, sku: '01010' }],
};
const product = { sku: 'NEW-1', name: 'Новий товар', costPerItem: '10.50' };
const box = {
  name: 'Коробка T',
  marking: 'T1',
  qntFrom: 1,
  qntTo: 2,
  width: 10,
  height: 10,
  length: 10,
  weight: '0.50',
  selfWeight: '0.10',
};
const user = { email: 'new.clerk@nk-food.shop', role: 'storekeeper', password: 'a-long-Passw0rd' };
const history = { orderId: '100001', status: '2', source: 'manual' };
const skus = { skus: ['01001', '01002'] };

const cases: RouteCase[] = [
  {
    method: 'POST',
    route: '/api/v1/auth/login',
    url: '/api/v1/auth/login',
    body: { email: 'boss@nk-food.shop', password: 'x' },
    public: true,
    table: 'users',
  },
  { method: 'POST', route: '/api/v1/auth/refresh', url: '/api/v1/auth/refresh', body: { refreshToken: 'x' }, public: true, table: 'users' },
  { method: 'POST', route: '/api/v1/auth/logout', url: '/api/v1/auth/logout', table: 'users' },
  { method: 'POST', route: '/api/v1/auth/logout-all', url: '/api/v1/auth/logout-all', table: 'users' },
  { method: 'GET', route: '/api/v1/auth/sessions', url: '/api/v1/auth/sessions' },
  { method: 'GET', route: '/api/v1/auth/me', url: '/api/v1/auth/me' },
  { method: 'GET', route: '/api/v1/users', url: '/api/v1/users', forbidden: 'boss' },
  { method: 'GET', route: '/api/v1/users/{id}', url: '/api/v1/users/2', forbidden: 'storekeeper', missing: '/api/v1/users/9999' },
  { method: 'POST', route: '/api/v1/users', url: '/api/v1/users', body: user, forbidden: 'boss', table: 'users' },
  {
    method: 'PATCH',
    route: '/api/v1/users/{id}',
    url: '/api/v1/users/2',
    body: { name: 'Марія' },
    forbidden: 'shop-manager',
    missing: '/api/v1/users/9999',
    table: 'users',
  },
  {
    method: 'DELETE',
    route: '/api/v1/users/{id}',
    url: '/api/v1/users/30',
    forbidden: 'boss',
    missing: '/api/v1/users/9999',
    table: 'users',
  },
  { method: 'GET', route: '/api/v1/orders', url: '/api/v1/orders' },
  { method: 'GET', route: '/api/v1/orders/{id}', url: '/api/v1/orders/100001', missing: '/api/v1/orders/nope' },
  { method: 'POST', route: '/api/v1/orders', url: '/api/v1/orders', body: order, forbidden: 'storekeeper', table: 'orders' },
  {
    method: 'PATCH',
    route: '/api/v1/orders/{id}',
    url: '/api/v1/orders/100001',
    body: { ttn: '1' },
    forbidden: 'ads-manager',
    missing: '/api/v1/orders/nope',
    table: 'orders',
  },
  {
    method: 'DELETE',
    route: '/api/v1/orders/{id}',
    url: '/api/v1/orders/100002',
    forbidden: 'shop-manager',
    missing: '/api/v1/orders/nope',
    table: 'orders',
  },
  { method: 'GET', route: '/api/v1/orders/counts', url: '/api/v1/orders/counts?syncStatus=success' },
  {
    method: 'GET',
    route: '/api/v1/orders/{id}/expected-weight',
    url: '/api/v1/orders/100001/expected-weight',
    missing: '/api/v1/orders/nope/expected-weight',
  },
  {
    method: 'GET',
    route: '/api/v1/orders/{id}/packing-list',
    url: '/api/v1/orders/100001/packing-list',
    missing: '/api/v1/orders/nope/packing-list',
  },
  // without SALESDRIVE_URL here: both refuse (409, test/server/salesdrive-reconcile.test.ts), bad input first
  { method: 'POST', route: '/api/v1/orders/reconcile', url: '/api/v1/orders/reconcile', forbidden: 'boss' },
  { method: 'POST', route: '/api/v1/orders/{id}/refresh', url: '/api/v1/orders/100001/refresh', forbidden: 'ads-manager' },
  { method: 'GET', route: '/api/v1/shop-settings', url: '/api/v1/shop-settings' },
  {
    method: 'PATCH',
    route: '/api/v1/shop-settings',
    url: '/api/v1/shop-settings',
    body: { weightToleranceGrams: 80 },
    forbidden: 'boss',
    table: 'shop_settings',
  },
  {
    method: 'GET',
    route: '/api/v1/orders/by-external-id/{externalId}',
    url: '/api/v1/orders/by-external-id/50001',
    missing: '/api/v1/orders/by-external-id/nope',
  },
  { method: 'GET', route: '/api/v1/orders/{id}/history', url: '/api/v1/orders/100002/history', missing: '/api/v1/orders/nope/history' },
  { method: 'GET', route: '/api/v1/order-history', url: '/api/v1/order-history' },
  {
    method: 'GET',
    route: '/api/v1/order-history/{id}',
    url: '/api/v1/order-history/ca6ac4011d306a7fdec12921b',
    missing: '/api/v1/order-history/nope',
  },
  {
    method: 'POST',
    route: '/api/v1/order-history',
    url: '/api/v1/order-history',
    body: history,
    forbidden: 'ads-manager',
    table: 'order_history',
  },
  { method: 'GET', route: '/api/v1/products', url: '/api/v1/products' },
  { method: 'GET', route: '/api/v1/products/{id}', url: '/api/v1/products/1', missing: '/api/v1/products/9999' },
  { method: 'POST', route: '/api/v1/products', url: '/api/v1/products', body: product, forbidden: 'storekeeper', table: 'products' },
  {
    method: 'PATCH',
    route: '/api/v1/products/{id}',
    url: '/api/v1/products/1',
    body: { name: 'Вареники' },
    forbidden: 'user',
    missing: '/api/v1/products/9999',
    table: 'products',
  },
  {
    method: 'DELETE',
    route: '/api/v1/products/{id}',
    url: '/api/v1/products/2',
    forbidden: 'shop-manager',
    missing: '/api/v1/products/9999',
    table: 'products',
  },
  // without DILOVOD_URL here: a run is refused (409, test/server/dilovod-sync.test.ts), bad input first
  { method: 'POST', route: '/api/v1/products/sync', url: '/api/v1/products/sync', forbidden: 'boss', table: 'catalogue_sync_runs' },
  { method: 'GET', route: '/api/v1/products/sync/runs', url: '/api/v1/products/sync/runs', forbidden: 'storekeeper' },
  {
    method: 'GET',
    route: '/api/v1/products/sync/runs/{id}',
    url: '/api/v1/products/sync/runs/0b9e4c1a-6f0d-4e57-9a43-5c1d2f3e4a5b',
    forbidden: 'shop-manager',
    missing: '/api/v1/products/sync/runs/0b9e4c1a-6f0d-4e57-9a43-5c1d2f3e4a5c',
  },
  { method: 'GET', route: '/api/v1/products/by-sku/{sku}', url: '/api/v1/products/by-sku/01001', missing: '/api/v1/products/by-sku/nope' },
  { method: 'GET', route: '/api/v1/box-settings', url: '/api/v1/box-settings' },
  { method: 'GET', route: '/api/v1/box-settings/{id}', url: '/api/v1/box-settings/7', missing: '/api/v1/box-settings/9999' },
  {
    method: 'POST',
    route: '/api/v1/box-settings',
    url: '/api/v1/box-settings',
    body: box,
    forbidden: 'storekeeper',
    table: 'box_settings',
  },
  {
    method: 'PATCH',
    route: '/api/v1/box-settings/{id}',
    url: '/api/v1/box-settings/7',
    body: { overflow: 1 },
    forbidden: 'shop-manager',
    missing: '/api/v1/box-settings/9999',
    table: 'box_settings',
  },
  {
    method: 'DELETE',
    route: '/api/v1/box-settings/{id}',
    url: '/api/v1/box-settings/9',
    forbidden: 'storekeeper',
    missing: '/api/v1/box-settings/9999',
    table: 'box_settings',
  },
  { method: 'GET', route: '/api/v1/box-settings/recommend', url: '/api/v1/box-settings/recommend?portions=5' },
  { method: 'GET', route: '/api/v1/wordpress-sku-cache', url: '/api/v1/wordpress-sku-cache' },
  {
    method: 'GET',
    route: '/api/v1/wordpress-sku-cache/{id}',
    url: '/api/v1/wordpress-sku-cache/1',
    missing: '/api/v1/wordpress-sku-cache/9999',
  },
  {
    method: 'POST',
    route: '/api/v1/wordpress-sku-cache',
    url: '/api/v1/wordpress-sku-cache',
    body: skus,
    forbidden: 'storekeeper',
    table: 'wordpress_sku_cache',
  },
  {
    method: 'PATCH',
    route: '/api/v1/wordpress-sku-cache/{id}',
    url: '/api/v1/wordpress-sku-cache/1',
    body: skus,
    forbidden: 'ads-manager',
    missing: '/api/v1/wordpress-sku-cache/9999',
    table: 'wordpress_sku_cache',
  },
  {
    method: 'DELETE',
    route: '/api/v1/wordpress-sku-cache/{id}',
    url: '/api/v1/wordpress-sku-cache/1',
    forbidden: 'shop-manager',
    missing: '/api/v1/wordpress-sku-cache/9999',
    table: 'wordpress_sku_cache',
  },
  {
    method: 'POST',
    route: '/api/v1/webhooks/salesdrive',
    url: '/api/v1/webhooks/salesdrive',
    body: { info: { webhookEvent: 'new_order' }, data: { id: 910002 } },
    public: true,
    table: 'orders',
    webhook: true,
  },
];

/** The data of every business table: a bad request must leave all of it as it was. */
async function snapshot() {
  const rows = await sql`
    select 'users' as t, md5(string_agg(u::text, '' order by id)) as f from users u
    union all select 'orders', md5(string_agg(o::text, '' order by id)) from orders o
    union all select 'order_history', md5(string_agg(h::text, '' order by id)) from order_history h
    union all select 'products', md5(string_agg(p::text, '' order by id)) from products p
    union all select 'box_settings', md5(string_agg(b::text, '' order by id)) from box_settings b
    union all select 'wordpress_sku_cache', md5(string_agg(w::text, '' order by id)) from wordpress_sku_cache w
    union all select 'shop_settings', md5(string_agg(s::text, '' order by id)) from shop_settings s
    union all select 'catalogue_sync_runs', md5(string_agg(r::text, '' order by id)) from catalogue_sync_runs r`;
  return rows;
}

/**
 * Bodies that must be refused, with the status meant: an unknown field, and per field a wrong
 * type, a huge string, an out-of-range number (400); text that is not JSON (415).
 */
function badBodies(body: Record<string, unknown>): [string, unknown, number?][] {
  const bad: [string, unknown, number?][] = [
    ['an unknown field', { ...body, isAdmin: true }],
    ['an array instead of an object', [body]],
    ['a string instead of an object (sent as text/plain)', 'body', 415],
  ];
  for (const [field, value] of Object.entries(body)) {
    const wrongType =
      typeof value === 'string' ? 12345 : typeof value === 'number' ? String(value) : typeof value === 'boolean' ? 'yes' : 'not-an-object';
    bad.push([`${field}: wrong type`, { ...body, [field]: wrongType }]);
    if (typeof value === 'string') bad.push([`${field}: a 100,000-character string`, { ...body, [field]: 'x'.repeat(100_000) }]);
    if (typeof value === 'number') {
      bad.push([`${field}: out of range`, { ...body, [field]: 1e15 }]);
      bad.push([`${field}: negative`, { ...body, [field]: -1 }]);
      bad.push([`${field}: fractional`, { ...body, [field]: 1.5 }]);
    }
  }
  return bad;
}

t.test('the matrix covers every route of the API', async (t) => {
  const paths = (await app.inject({ url: '/openapi.json' })).json().paths as Record<string, Record<string, unknown>>;
  const documented = Object.entries(paths)
    .filter(([path]) => path.startsWith('/api/v1'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  t.same(cases.map((c) => `${c.method} ${c.route}`).sort(), documented);
});

for (const c of cases) {
  t.test(`${c.method} ${c.route}`, async (t) => {
    const send = (options: InjectOptions) => app.inject({ method: c.method, url: c.url, ...options });
    if (!c.public) {
      const anonymous = await send({ payload: c.body });
      t.equal(anonymous.statusCode, 401, 'no token: 401');
      t.equal(anonymous.json().code, 'UNAUTHORIZED');
      const forged = await send({
        payload: c.body,
        headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIn0.' },
      });
      t.equal(forged.statusCode, 401, 'an unsigned token: 401');
    }
    const before = await snapshot();
    if (c.webhook) {
      for (const payload of [c.body, ...badBodies(c.body!).map(([, body]) => body)]) {
        const res = await send({ payload: payload as InjectOptions['payload'], query: { token: 'x' } });
        t.equal(res.statusCode, 403, `refused without SALESDRIVE_WEBHOOK_SECRET: ${res.statusCode}`);
      }
      t.same(await snapshot(), before, 'nothing changed');
      return;
    }
    if (c.forbidden) {
      const res = await send({ payload: c.body, headers: headersFor(c.forbidden) });
      t.equal(res.statusCode, 403, `${c.forbidden}: 403`);
    }
    if (c.missing) {
      const res = await app.inject({ method: c.method, url: c.missing, payload: c.body, headers: headersFor('admin') });
      t.equal(res.statusCode, 404, `${c.missing}: 404`);
      t.equal(res.json().code, 'NOT_FOUND');
    }
    const headers = c.public ? {} : headersFor('admin');
    for (const [what, payload, status = 400] of c.body ? badBodies(c.body) : []) {
      const res = await send({ payload: payload as InjectOptions['payload'], headers });
      t.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.statusCode === status ? '' : res.body.slice(0, 100)}`);
    }
    if (!c.body && c.method !== 'GET') {
      const res = await send({ payload: { isAdmin: true }, headers });
      t.equal(res.statusCode, 400, `a body on a route that takes none: ${res.statusCode}`);
    }
    if (c.method === 'PATCH') {
      const res = await send({ payload: {}, headers });
      t.equal(res.statusCode, 400, 'an empty change: 400');
    }
    const [path, query] = c.url.split('?');
    const badUrls = [
      `${c.url}${query ? '&' : '?'}unknown=1`,
      ...(c.method === 'GET' &&
      !c.url.includes('{') &&
      !/\/[^/]*\d[^/]*$/.test(path!) &&
      !c.url.includes('recommend') &&
      !c.url.includes('/me')
        ? [
            `${path}?limit=0`,
            `${path}?limit=101`,
            `${path}?limit=abc`,
            `${path}?cursor=not-a-cursor`,
            `${path}?cursor=${Buffer.from('{"s":"x"}').toString('base64url')}`,
            `${path}?order=sideways`,
          ]
        : []),
      // not a serial id: a 400 (a text id such as an order's may be anything, and is then not found)
      ...(c.missing && /\/\d+$/.test(c.missing)
        ? [c.url.replace(/\d+$/, 'abc'), c.url.replace(/\d+$/, '-1'), c.url.replace(/\d+$/, '99999999999')]
        : []),
      ...(c.url.includes('recommend') ? [`${path}?portions=0`, `${path}?portions=abc`, path!] : []),
    ];
    for (const url of badUrls) {
      const res = await app.inject({ method: c.method, url, payload: c.body, headers });
      t.equal(res.statusCode, 400, `${url.slice(0, 80)}: ${res.statusCode}`);
    }
    t.same(await snapshot(), before, 'nothing changed');
  });
}
