/**
 * Legacy rows that break a rule of the schema (kept NOT VALID) can be corrected through the API:
 * PostgreSQL checks every rule again on each update of a row, so a change that leaves a broken
 * value is refused with every broken field named (value and rule), and a change that corrects them
 * passes in the same request. A legacy account that breaks a rule is told why it cannot log in, and
 * an admin or `npm run user:reset-password` puts it right.
 */
import t from 'tap';
import { LOGINS, testApp, writeLegacyValues } from '../helpers/app.js';
import { runScript } from '../helpers/commands.js';

const { app, sql, db, headersFor } = await testApp(t);
const admin = headersFor('admin');
const keeper = headersFor('storekeeper');

const legacyValue = (table: string, statement: string) => writeLegacyValues(sql, table, statement);

await legacyValue('orders', `update orders set quantity = -1, items = '{"not": "an array"}' where id = '100001'`);
await legacyValue('users', `update users set email = ' ${LOGINS.user.email} ' where id = ${LOGINS.user.id}`);
await legacyValue('users', `update users set role = '' where id = ${LOGINS['ads-manager'].id}`);

t.test('an order holding legacy values: read as it is, a change names every broken field, a correcting change passes', async (t) => {
  const read = await app.inject({ url: '/api/v1/orders/100001', headers: keeper });
  t.equal(read.statusCode, 200, read.body);
  t.same(read.json().items, { not: 'an array' });
  const [before] = await sql`select status, updated_at from orders where id = '100001'`;

  const refused = await app.inject({ method: 'PATCH', url: '/api/v1/orders/100001', headers: keeper, payload: { status: '3' } });
  t.equal(refused.statusCode, 400, refused.body);
  const body = refused.json();
  t.equal(body.code, 'ROW_BREAKS_RULES');
  t.same(
    body.fields,
    [
      { field: 'quantity', value: -1, rule: 'orders_quantity_check', requires: 'quantity is 0 or more' },
      { field: 'items', value: { not: 'an array' }, rule: 'orders_items_check', requires: 'items is a JSON array' },
    ],
    'every broken field, its value and its rule, at once',
  );
  t.match(body.message, /quantity is -1 \(orders_quantity_check: quantity is 0 or more\); items is \{"not":"an array"\}/);
  t.same(await sql`select status, updated_at from orders where id = '100001'`, [before], 'nothing changed');

  const half = await app.inject({ method: 'PATCH', url: '/api/v1/orders/100001', headers: keeper, payload: { status: '3', quantity: 2 } });
  t.equal(half.statusCode, 400);
  t.same(
    half.json().fields.map((f: { field: string }) => f.field),
    ['items'],
    'what is still broken',
  );

  const items = [{ productName: 'Вареники з картоплею', quantity: 2, price: 121.77, sku: '01001' }];
  const fixed = await app.inject({
    method: 'PATCH',
    url: '/api/v1/orders/100001',
    headers: keeper,
    payload: { status: '3', quantity: 2, items },
  });
  t.equal(fixed.statusCode, 200, fixed.body);
  t.same(await sql`select status, quantity, items from orders where id = '100001'`, [{ status: '3', quantity: 2, items }]);
  const [history] = await sql`select status, source from order_history where order_id = '100001' order by changed_at desc limit 1`;
  t.same(history, { status: '3', source: 'manual' }, 'the status change is in the history');
});

t.test('a legacy account that breaks a rule is told why it cannot log in; an admin corrects it', async (t) => {
  const login = (email: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  for (const email of [LOGINS.user.email, ` ${LOGINS.user.email} `, LOGINS.user.email.toUpperCase()]) {
    const res = await login(email, LOGINS.user.password);
    t.equal(res.statusCode, 403, `${JSON.stringify(email)}: ${res.body}`);
    t.equal(res.json().code, 'ACCOUNT_NEEDS_CORRECTION');
    t.match(
      res.json().message,
      /email is " user3@nk-food\.shop " \(users_email_check: email has no surrounding spaces.*PATCH \/api\/v1\/users\/8.*user:reset-password/,
    );
  }
  const wrong = await login(LOGINS.user.email, 'not-the-password');
  t.equal(wrong.statusCode, 401, 'a wrong password is told nothing about the account');
  const role = await login(LOGINS['ads-manager'].email, LOGINS['ads-manager'].password);
  t.equal(role.statusCode, 403);
  t.match(role.json().message, /role is "" \(users_role_check: role is one of admin, boss/);

  // an admin gives the spaced account a new password: the e-mail must be corrected with it
  const password = await app.inject({
    method: 'PATCH',
    url: `/api/v1/users/${LOGINS.user.id}`,
    headers: admin,
    payload: { password: 'a-new-Passw0rd!' },
  });
  t.equal(password.statusCode, 400, password.body);
  t.same(
    password.json().fields.map((f: { field: string; value: unknown }) => [f.field, f.value]),
    [['email', ` ${LOGINS.user.email} `]],
  );
  const both = await app.inject({
    method: 'PATCH',
    url: `/api/v1/users/${LOGINS.user.id}`,
    headers: admin,
    payload: { password: 'a-new-Passw0rd!', email: LOGINS.user.email },
  });
  t.equal(both.statusCode, 200, both.body);
  t.equal((await login(LOGINS.user.email, 'a-new-Passw0rd!')).statusCode, 200, 'the corrected account logs in');

  const renamed = await app.inject({
    method: 'PATCH',
    url: `/api/v1/users/${LOGINS['ads-manager'].id}`,
    headers: admin,
    payload: { name: 'Ads' },
  });
  t.equal(renamed.statusCode, 400, renamed.body);
  t.same(
    renamed.json().fields.map((f: { field: string }) => f.field),
    ['role'],
  );
  t.equal(
    (
      await app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${LOGINS['ads-manager'].id}`,
        headers: admin,
        payload: { name: 'Ads', role: 'ads-manager' },
      })
    ).statusCode,
    200,
  );
  t.equal((await login(LOGINS['ads-manager'].email, LOGINS['ads-manager'].password)).statusCode, 200);
});

t.test('npm run user:reset-password finds a spaced legacy e-mail, stores it trimmed; an unknown role needs --role', async (t) => {
  await legacyValue('users', `update users set email = ' ${LOGINS.boss.email} ', role = 'superuser' where id = ${LOGINS.boss.id}`);
  const reset = (args: string[]) =>
    runScript('user:reset-password', [...args, '--password-stdin'], { DATABASE_URL: db.url }, { input: 'a-reset-Passw0rd!\n' });
  const refused = await reset([LOGINS.boss.email]);
  t.equal(refused.code, 1, refused.stdout);
  t.match(refused.stderr, /role is "superuser" \(users_role_check: .*Give it a role with --role <admin\|boss\|.*Nothing was changed\./);
  t.same(await sql`select email, role from users where id = ${LOGINS.boss.id}`, [{ email: ` ${LOGINS.boss.email} `, role: 'superuser' }]);

  const done = await reset([`  ${LOGINS.boss.email.toUpperCase()}`, '--role', 'boss']);
  t.equal(done.code, 0, done.stderr);
  t.match(done.stdout, /Its e-mail had spaces around it \(" boss@nk-food\.shop "\).*it is now boss@nk-food\.shop\./);
  t.match(done.stdout, /Its role was "superuser", it is now boss\./);
  t.same(await sql`select email, role from users where id = ${LOGINS.boss.id}`, [{ email: LOGINS.boss.email, role: 'boss' }]);
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: LOGINS.boss.email, password: 'a-reset-Passw0rd!' },
  });
  t.equal(login.statusCode, 200, login.body);
});

t.test(
  'a session of an account that comes to break a rule: refresh is told why, and the session is kept for after the correction',
  async (t) => {
    const { email, password, id } = LOGINS['shop-manager'];
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    t.equal(login.statusCode, 200, login.body);
    const { refreshToken } = login.json();
    await legacyValue('users', `update users set role = 'manager' where id = ${id}`);
    const [before] = await sql`select sessions::text, token_version from users where id = ${id}`;

    const refused = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
    t.equal(refused.statusCode, 403, refused.body);
    t.equal(refused.json().code, 'ACCOUNT_NEEDS_CORRECTION');
    t.match(refused.json().message, new RegExp(`role is "manager" \\(users_role_check: .*PATCH /api/v1/users/${id}`));
    t.notMatch(refused.body, /\$2[aby]\$|\$argon2|"hash"/, 'no hash in the answer');
    t.same(await sql`select sessions::text, token_version from users where id = ${id}`, [before], 'nothing changed');

    const corrected = await app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: admin, payload: { role: 'shop-manager' } });
    t.equal(corrected.statusCode, 200, corrected.body);
    const refreshed = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
    t.equal(refreshed.statusCode, 200, `the same refresh token works once the account is corrected: ${refreshed.body}`);
  },
);
