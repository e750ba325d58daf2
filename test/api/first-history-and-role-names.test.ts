/**
 * Issue 25, item 7: an order created through the API records its first status in its history (who,
 * when); a user created through the API is shown with their role's name (it was null); the API says
 * what syncStatus means without SalesDrive.
 */
import t from 'tap';
import { ROLE_LABELS } from '../../src/auth/role-labels.js';
import { LOGINS, testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);
const manager = headersFor('shop-manager');
const admin = headersFor('admin');

t.test('an order created through the API has its first status in its history, with its author and time', async (t) => {
  const order = { id: '930001', externalId: 'X-930001', orderNumber: '930001', quantity: 1, status: '2', items: [] };
  const before = Date.now();
  const made = await app.inject({ method: 'POST', url: '/api/v1/orders', headers: manager, payload: order });
  t.equal(made.statusCode, 201, made.body);
  const history = await app.inject({ url: '/api/v1/orders/930001/history', headers: manager });
  t.equal(history.statusCode, 200);
  t.match(history.json().items, [
    { orderId: '930001', status: '2', statusText: made.json().statusText, source: 'manual', userId: LOGINS['shop-manager'].id },
  ]);
  t.equal(history.json().items.length, 1, 'one entry');
  t.ok(Date.parse(history.json().items[0].changedAt) >= before - 1000, 'at the time it was made');

  const refused = await app.inject({ method: 'POST', url: '/api/v1/orders', headers: manager, payload: order });
  t.equal(refused.statusCode, 409, 'the same id again');
  t.equal(
    (await sql`select count(*)::int as n from order_history where order_id = '930001'`)[0]!.n,
    1,
    'a refused create writes no history',
  );
});

t.test("a user created through the API is shown with their role's name; a new role brings its own", async (t) => {
  const made = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { email: 'new.keeper@nk-food.shop', role: 'storekeeper', password: 'a-long-Passw0rd' },
  });
  t.equal(made.statusCode, 201, made.body);
  t.equal(made.json().roleName, 'Комірник');
  const legacy = await sql<
    { role: string; role_name: string }[]
  >`select distinct role, role_name from users where id <= 16 and role_name is not null`;
  for (const { role, role_name } of legacy)
    t.equal(ROLE_LABELS[role as keyof typeof ROLE_LABELS], role_name, `${role}: the old back office's name`);
  const promoted = await app.inject({
    method: 'PATCH',
    url: `/api/v1/users/${made.json().id}`,
    headers: admin,
    payload: { role: 'shop-manager' },
  });
  t.equal(promoted.json().roleName, 'Менеджер магазину', 'a new role, its name');
  const titled = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { email: 'senior.keeper@nk-food.shop', role: 'storekeeper', roleName: 'Старша комірниця', password: 'a-long-Passw0rd' },
  });
  t.equal(titled.json().roleName, 'Старша комірниця', 'a name given is kept');
});

t.test('the API says what syncStatus means without SalesDrive', async (t) => {
  const spec = (await app.inject({ url: '/openapi.json' })).json();
  t.match(JSON.stringify(spec.paths['/api/v1/orders'].post.responses['201']), 'Without SALESDRIVE_URL nothing is sent');
});
