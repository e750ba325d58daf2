/** Messages that say what is wrong with this request: a PATCH breaking a rule, a NUL character (issue 25, item 4). */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, headersFor, count } = await testApp(t);
const admin = { ...headersFor('admin'), 'content-type': 'application/json' };
const box = {
  name: 'Коробка N',
  marking: 'N1',
  qntFrom: 1,
  qntTo: 2,
  width: 10,
  height: 10,
  length: 10,
  weight: '0.50',
  selfWeight: '0.10',
};

t.test('a PATCH that breaks a rule on a row made through the API is told as a POST is, not as legacy data', async (t) => {
  const made = await app.inject({ method: 'POST', url: '/api/v1/box-settings', headers: admin, payload: box });
  t.equal(made.statusCode, 201, made.body);
  const post = await app.inject({
    method: 'POST',
    url: '/api/v1/box-settings',
    headers: admin,
    payload: { ...box, marking: 'N2', qntFrom: 9 },
  });
  t.equal(post.json().code, 'CHECK_VIOLATION');
  const patch = await app.inject({
    method: 'PATCH',
    url: `/api/v1/box-settings/${made.json().id}`,
    headers: admin,
    payload: { qntFrom: 9 },
  });
  t.equal(patch.statusCode, 400);
  t.same(patch.json(), {
    statusCode: 400,
    code: 'CHECK_VIOLATION',
    error: 'Bad Request',
    message:
      'The values sent break a rule: qntFrom is 9 (box_settings_portions_check: qnt_from is 0 or more and at most qnt_to, and overflow is 0 or more); qntTo is 2 (box_settings_portions_check: qnt_from is 0 or more and at most qnt_to, and overflow is 0 or more)',
  });
  t.notMatch(patch.body, 'data from before', 'no word of legacy data');
  t.equal((await app.inject({ url: `/api/v1/box-settings/${made.json().id}`, headers: admin })).json().qntFrom, 1, 'nothing changed');
});

t.test('U+0000 in a string: 400 naming the field (it was INVALID_VALUE naming none), and the schema says so', async (t) => {
  const products = await count('products');
  const cases = [
    ['{"sku": "T-0", "name": "Борщ\\u0000"}', 'body.name holds the character U+0000 (NUL), which text cannot hold'],
    [
      '{"sku": "T-0", "name": "x", "set": [{"id": "a\\u0000", "quantity": 1}]}',
      'body.set.0.id holds the character U+0000 (NUL), which text cannot hold',
    ],
    [
      '{"sku": "T-0", "name": "x", "stockBalanceByStock": {"\\u0000": 1}}',
      'a field name in body.stockBalanceByStock holds the character U+0000 (NUL), which text cannot hold',
    ],
  ];
  for (const [json, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/products', headers: admin, payload: json });
    t.same(res.json(), { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message });
  }
  t.equal(await count('products'), products, 'nothing stored');
  const escaped = await app.inject({
    method: 'POST',
    url: '/api/v1/products',
    headers: admin,
    payload: '{"sku": "T-0", "name": "C:\\\\u0000"}',
  });
  t.equal(escaped.statusCode, 201, `a backslash then u0000 is text (${escaped.body})`);
  const query = await app.inject({ url: '/api/v1/products?q=%00', headers: admin });
  t.same(query.json(), {
    statusCode: 400,
    code: 'FST_ERR_VALIDATION',
    error: 'Bad Request',
    message: 'querystring.q holds the character U+0000 (NUL), which text cannot hold',
  });
  const path = await app.inject({ url: '/api/v1/products/by-sku/a%00', headers: admin });
  t.match(path.json(), { statusCode: 400, message: 'params.sku holds the character U+0000' });
  t.match((await app.inject({ url: '/openapi.json' })).json().info.description, 'U+0000');
});
