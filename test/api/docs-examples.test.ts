/**
 * The API docs carry examples worth executing: every request body in /openapi.json has one that
 * its own schema accepts, and running them as Swagger UI's "Try it out" does stores sensible rows.
 */
import t from 'tap';
import { Value } from 'typebox/value';
import { testApp } from '../helpers/app.js';

const { app, headersFor, sql } = await testApp(t);
const spec = (await app.inject({ url: '/openapi.json' })).json();
type Media = { schema: Record<string, unknown>; example?: unknown };
type Operation = { requestBody?: { content: Record<string, Media> }; responses: Record<string, { content?: Record<string, Media> }> };
const operations = Object.entries(spec.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, path, method, operation })),
);
const bodyOf = (route: string) => operations.find((o) => o.route === route)!.operation.requestBody!.content['application/json']!;

t.test('every request body has an example that its schema accepts', async (t) => {
  const withBodies = operations.filter((o) => o.operation.requestBody);
  t.ok(withBodies.length >= 13, `${withBodies.length} request bodies`);
  for (const { route, operation } of withBodies) {
    const media = operation.requestBody!.content['application/json']!;
    t.not(media.example, undefined, `${route}: has an example`);
    t.ok(Value.Check(media.schema, media.example), `${route}: its example is valid`);
  }
});

t.test('the main responses (each resource as read, and the packing station routes) have a valid example', async (t) => {
  for (const route of [
    'GET /api/v1/orders/{id}',
    'GET /api/v1/orders/counts',
    'GET /api/v1/orders/{id}/expected-weight',
    'GET /api/v1/box-settings/recommend',
    'GET /api/v1/shop-settings',
    'GET /api/v1/products/{id}',
    'GET /api/v1/box-settings/{id}',
    'GET /api/v1/users/{id}',
    'GET /api/v1/order-history/{id}',
    'GET /api/v1/wordpress-sku-cache/{id}',
  ]) {
    const media = operations.find((o) => o.route === route)!.operation.responses['200']!.content!['application/json']!;
    t.not(media.example, undefined, `${route}: has an example`);
    t.ok(Value.Check(media.schema, media.example), `${route}: its example is valid`);
  }
});

t.test('Try it out → Execute with each example does something sensible', async (t) => {
  const admin = headersFor('admin');
  const execute = (method: 'POST' | 'PATCH', url: string, route: string) =>
    app.inject({ method, url, headers: admin, payload: bodyOf(route).example as Record<string, unknown> });
  const created: Record<string, string> = {};
  for (const resource of ['orders', 'order-history', 'products', 'box-settings', 'wordpress-sku-cache', 'users']) {
    const res = await execute('POST', `/api/v1/${resource}`, `POST /api/v1/${resource}`);
    t.equal(res.statusCode, 201, `POST /api/v1/${resource}: ${res.body}`);
    created[resource] = res.headers.location as string;
  }
  for (const resource of ['orders', 'products', 'box-settings', 'wordpress-sku-cache', 'users']) {
    const res = await execute('PATCH', created[resource]!, `PATCH /api/v1/${resource}/{id}`);
    t.equal(res.statusCode, 200, `PATCH /api/v1/${resource}/{id}: ${res.body}`);
  }
  const [order] = await sql`select status, ttn, total_price::text, items from orders where id = '123457'`;
  t.same(order, {
    status: '3',
    ttn: '20450912345678',
    total_price: '488.93',
    items: (bodyOf('POST /api/v1/orders').example as { items: unknown }).items,
  });
  const history = await sql`select status, source from order_history where order_id = '123457' order by changed_at`;
  t.same(
    history,
    [
      { status: '1', source: 'manual' },
      { status: '4', source: 'manual' },
      { status: '3', source: 'manual' },
    ],
    'its first status, the example entry, then the status change',
  );
  const [box] = await sql`select marking, is_active from box_settings where marking = 'XXL'`;
  t.same(box, { marking: 'XXL', is_active: false });
  const [cache] = await sql`select total_count from wordpress_sku_cache order by id desc limit 1`;
  t.equal(cache!.total_count, 3, 'the SKU count follows the list');
});
