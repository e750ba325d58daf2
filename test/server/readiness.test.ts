/** /readyz answers 200 only when the database answers and no migration is pending; /livez never looks. */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { TEST_CONFIG, testApp } from '../helpers/app.js';

t.test('ready on a migrated database', async (t) => {
  const { app } = await testApp(t);
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
});

t.test('503 while a migration is pending; /livez stays 200', async (t) => {
  const { app, sql } = await testApp(t);
  await sql`delete from drizzle.__drizzle_migrations where id = (select max(id) from drizzle.__drizzle_migrations)`;
  const res = await app.inject({ url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.same(res.json(), { status: 'unavailable', reason: '1 migration(s) pending' });
  t.equal(res.headers['retry-after'], '5');
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200);
});

t.test('503 while the database is unreachable; the API answers 503 too; /livez stays 200', async (t) => {
  const app = await buildApp({ ...TEST_CONFIG, database: { url: 'postgres://postgres@127.0.0.1:1/nothing' } });
  t.teardown(() => app.close());
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().reason, 'database unreachable');
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200);
  const token = app.signAccessToken({ id: 1, role: 'admin', sessionId: 'any', version: 0 });
  const api = await app.inject({ url: '/api/v1/orders', headers: { authorization: `Bearer ${token}` } });
  t.equal(api.statusCode, 503);
  t.equal(api.json().code, 'DATABASE_UNAVAILABLE');
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'a@b.c', password: 'x' } });
  t.equal(login.statusCode, 503, 'login too: never a 500');
});

t.test('503 from the moment shutdown begins', async (t) => {
  const { app } = await testApp(t);
  app.markNotReady();
  const res = await app.inject({ url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().reason, 'shutting down');
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200);
});
