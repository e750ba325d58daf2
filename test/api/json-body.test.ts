/** JSON bodies are taken exactly as sent or refused: lone surrogates, bytes that are not UTF-8, numbers a JavaScript number cannot hold, compressed bodies, leap seconds. */
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
  t.same(inName.json(), {
    statusCode: 400,
    code: 'FST_ERR_VALIDATION',
    error: 'Bad Request',
    message: 'body.name is not valid Unicode (a lone surrogate)',
  });
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

t.test('bytes that are not UTF-8: 400, nothing stored (they became U+FFFD with a 200)', async (t) => {
  const products = await count('products');
  const bytes = Buffer.concat([Buffer.from('{"sku": "T-U5", "name": "Вареники '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  const res = await app.inject({ method: 'POST', url: '/api/v1/products', headers: admin, payload: bytes });
  t.equal(res.statusCode, 400);
  t.equal(res.json().message, 'body is not valid UTF-8');
  t.equal(await count('products'), products, 'nothing stored');
});

t.test('a number JavaScript cannot hold as written: 400, nothing stored', async (t) => {
  const products = await count('products');
  for (const number of ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '9007199254740993', '0.1000000000000000000001']) {
    const res = await post('/api/v1/products', `{"sku": "T-N", "name": "x", "stockBalanceByStock": {"1": ${number}}}`);
    t.equal(res.statusCode, 400, `${number}: 400`);
    t.match(res.json().message, `the number ${number}`, 'the message names it');
  }
  t.equal(await count('products'), products, 'nothing stored');
  const kept = await post(
    '/api/v1/products',
    '{"sku": "T-N1", "name": "1e400 \\"9.99\\"", "stockBalanceByStock": {"1": 12.50, "2": 1e3, "3": -0, "4": 0.30000000000000004, "5": 5e-324}}',
  );
  t.equal(kept.statusCode, 201, `numbers held exactly are taken, and digits in strings are text (${kept.body})`);
  t.same(kept.json().stockBalanceByStock, { 1: 12.5, 2: 1000, 3: 0, 4: 0.30000000000000004, 5: 5e-324 });
});

t.test('a body sent compressed: 415, nothing stored (it was read as plain JSON)', async (t) => {
  const products = await count('products');
  for (const encoding of ['gzip', 'br', 'deflate']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/products',
      headers: { ...admin, 'content-encoding': encoding },
      payload: '{"sku": "T-Z", "name": "x"}',
    });
    t.equal(res.statusCode, 415, `${encoding}: 415`);
    t.equal(res.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE');
  }
  const identity = await app.inject({
    method: 'POST',
    url: '/api/v1/products',
    headers: { ...admin, 'content-encoding': 'identity' },
    payload: '{"sku": "T-Z1", "name": "x"}',
  });
  t.equal(identity.statusCode, 201, 'identity is no encoding');
  t.equal(await count('products'), products + 1, 'only that one stored');
});

t.test('a leap second or a time-zone suffix in a timestamp: 400 in a body and in a filter, never a 500', async (t) => {
  const orders = await count('orders');
  const body = { id: 'T-LEAP', externalId: 'T-LEAP', orderNumber: 'T-LEAP', quantity: 1, status: '1', items: [] };
  for (const at of ['2026-12-31T23:59:60Z', '2026-11-30T09:15:00+02:00[Europe/Kyiv]']) {
    const created = await app.inject({ method: 'POST', url: '/api/v1/orders', headers: admin, payload: { ...body, orderDate: at } });
    t.equal(created.statusCode, 400, `body ${at}: 400`);
    const listed = await app.inject({ url: `/api/v1/orders?from=${encodeURIComponent(at)}`, headers: admin });
    t.equal(listed.statusCode, 400, `from=${at}: 400`);
  }
  t.equal(await count('orders'), orders, 'nothing stored');
  const fine = await app.inject({ url: `/api/v1/orders?from=${encodeURIComponent('2026-12-31T23:59:59Z')}`, headers: admin });
  t.equal(fine.statusCode, 200, 'the second before is fine');
});
