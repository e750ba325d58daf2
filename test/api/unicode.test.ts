/** A lone surrogate anywhere in a JSON body is a 400 that stores nothing; real characters, emoji included, are kept exactly. */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, headersFor, count } = await testApp(t);
const admin = { ...headersFor('admin'), 'content-type': 'application/json' };
// JSON text written by hand: JSON.stringify would escape the surrogate the same way, but this is what a client sends
const post = (url: string, json: string) => app.inject({ method: 'POST', url, headers: admin, payload: json });

t.test('a lone surrogate in a value or a field name: 400, nothing stored', async (t) => {
  const products = await count('products');
  const inName = await post('/api/v1/products', '{"sku": "T-U1", "name": "Вареники \\ud800"}');
  t.equal(inName.statusCode, 400);
  t.same(inName.json(), { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: 'body.name is not valid Unicode (a lone surrogate)' });
  const nested = await post('/api/v1/products', '{"sku": "T-U2", "name": "x", "set": [{"id": "\\udc00x", "quantity": 1}]}');
  t.equal(nested.statusCode, 400);
  t.equal(nested.json().message, 'body.set.0.id is not valid Unicode (a lone surrogate)');
  const inKey = await post('/api/v1/products', '{"sku": "T-U3", "name": "x", "stockBalanceByStock": {"\\ud83d": 1}}');
  t.equal(inKey.statusCode, 400);
  t.equal(inKey.json().message, 'a field name in body.stockBalanceByStock is not valid Unicode (a lone surrogate)');
  t.equal(await count('products'), products, 'nothing stored');
  const patch = await app.inject({ method: 'PATCH', url: '/api/v1/products/1', headers: admin, payload: '{"name": "\\ud800"}' });
  t.equal(patch.statusCode, 400, 'the same for a change');
});

t.test('a surrogate pair (an emoji) is a real character and is kept', async (t) => {
  const made = await post('/api/v1/products', '{"sku": "T-U4", "name": "Вареники \\ud83e\\udd5f з вишнею"}');
  t.equal(made.statusCode, 201, made.body);
  t.equal(made.json().name, 'Вареники 🥟 з вишнею');
  t.equal((await post('/api/v1/products', 'not json')).statusCode, 400, 'a body that is not JSON is still a 400');
});
