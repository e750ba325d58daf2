/** A field name twice in one object (the last one won, silently) and a body nested past the limit: 400 naming them, nothing stored. */
import t from 'tap';
import { MAX_DEPTH } from '../../src/plugins/json-body.js';
import { testApp } from '../helpers/app.js';

const { app, headersFor, count, sql } = await testApp(t);
const admin = { ...headersFor('admin'), 'content-type': 'application/json' };
const post = (url: string, json: string) => app.inject({ method: 'POST', url, headers: admin, payload: json });

t.test('a field name twice: 400 naming it and where, nothing stored', async (t) => {
  const products = await count('products');
  const top = await post('/api/v1/products', '{"sku": "T-D1", "sku": "T-D2", "name": "x"}');
  t.same(top.json(), {
    statusCode: 400,
    code: 'FST_ERR_VALIDATION',
    error: 'Bad Request',
    message: 'body has the field "sku" twice: send each field once',
  });
  const escaped = await post('/api/v1/products', '{"sku": "T-D3", "\\u0073ku": "T-D4", "name": "x"}');
  t.equal(escaped.json().message, 'body has the field "sku" twice: send each field once', 'written with an escape it is the same name');
  // a string that ends in an escaped backslash ends at its quote: the scan does not read past it
  const afterBackslash = await post('/api/v1/products', String.raw`{"name": "a backslash \\", "sku": "T-D3", "sku": "T-D4"}`);
  t.equal(afterBackslash.json().message, 'body has the field "sku" twice: send each field once', 'after a string ending in \\');
  const withQuote = await post('/api/v1/products', String.raw`{"sku\"": 1, "sku\"": 2}`);
  t.equal(withQuote.json().message, String.raw`body has the field "sku\"" twice: send each field once`, 'a name holding an escaped quote');
  const nested = await post(
    '/api/v1/products',
    '{"sku": "T-D5", "name": "x", "set": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 1, "id": "c"}]}',
  );
  t.equal(nested.json().message, 'body.set.1 has the field "id" twice: send each field once');
  t.equal(await count('products'), products, 'nothing stored');
  const users = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: '{"email": "a@nk-food.shop", "email": "b@nk-food.shop", "role": "user", "password": "a-long-Passw0rd"}',
  });
  t.equal(users.statusCode, 400);
  t.equal((await sql`select count(*)::int as n from users where email in ('a@nk-food.shop', 'b@nk-food.shop')`)[0]!.n, 0);
});

t.test('a field name twice among many: found past the names an object lists before it keeps a set of them', async (t) => {
  const stock = Array.from({ length: 40 }, (_, i) => `"${i + 1}": ${i}`);
  for (const [repeated, where] of [
    ['"3": 1', 'after 40 names'],
    ['"40": 1', 'the last of 40, again'],
  ] as const) {
    const res = await post('/api/v1/products', `{"sku": "T-D7", "name": "x", "stockBalanceByStock": {${[...stock, repeated].join(', ')}}}`);
    const name = repeated.slice(0, repeated.indexOf(':'));
    t.equal(res.json().message, `body.stockBalanceByStock has the field ${name} twice: send each field once`, where);
  }
  const distinct = await post('/api/v1/products', `{"sku": "T-D7", "name": "x", "stockBalanceByStock": {${stock.join(', ')}}}`);
  t.equal(distinct.statusCode, 201, '40 distinct names are fine');
});

t.test('the same name in different objects, and in strings, is fine', async (t) => {
  const made = await post(
    '/api/v1/products',
    '{"sku": "T-D6", "name": "\\"sku\\": 1, \\"sku\\": 2", "set": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 2}]}',
  );
  t.equal(made.statusCode, 201, made.body);
  t.same(made.json().set, [
    { id: 'a', quantity: 1 },
    { id: 'b', quantity: 2 },
  ]);
});

t.test(`nested deeper than ${MAX_DEPTH} levels: 400 naming the limit (it was "Body is not valid JSON")`, async (t) => {
  for (const depth of [MAX_DEPTH + 1, 10_000]) {
    const deep = `{"sku": "T-N", "name": "x", "stockBalanceByStock": ${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const res = await post('/api/v1/products', deep);
    t.same(
      res.json(),
      {
        statusCode: 400,
        code: 'FST_ERR_VALIDATION',
        error: 'Bad Request',
        message: `body nests deeper than ${MAX_DEPTH} levels of objects and arrays, the most taken`,
      },
      `${depth} levels`,
    );
  }
  const within = await post(
    '/api/v1/products',
    `{"sku": "T-N", "name": "x", "stockBalanceByStock": ${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}}`,
  );
  t.equal(within.statusCode, 400);
  t.match(
    within.json().message,
    /^body\.stockBalanceByStock must be object/,
    `${MAX_DEPTH} levels parse (the schema then refuses an array)`,
  );
});
