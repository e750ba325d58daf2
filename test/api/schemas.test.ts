/**
 * Route schemas are compiled on first use (src/compilers.ts): every one of them still compiles,
 * and one compiled early by a request is the one the rest of the app then uses.
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, headersFor } = await testApp(t);

t.test('routes answer on schemas compiled at their first request: errors, and a bad query', async (t) => {
  const headers = headersFor('admin');
  const missing = await app.inject({ method: 'GET', url: '/api/v1/orders/999999999', headers });
  t.equal(missing.statusCode, 404);
  t.same(Object.keys(missing.json()).sort(), ['code', 'error', 'message', 'statusCode'], 'the shared error serializer');
  const bad = await app.inject({ method: 'GET', url: '/api/v1/products?limit=abc', headers });
  t.equal(bad.statusCode, 400, 'a query validator compiled on its first request');
});

t.test('every route schema compiles (what the server does one second after it listens)', async (t) => {
  await t.resolves(app.compileSchemas());
  const headers = headersFor('admin');
  const list = await app.inject({ method: 'GET', url: '/api/v1/box-settings', headers });
  t.equal(list.statusCode, 200, 'and the routes answer after it');
});
