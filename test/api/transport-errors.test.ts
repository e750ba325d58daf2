/**
 * What Node's parser and Fastify's router answer, before a route: in the one error shape, after
 * authentication where a route is found, and listed in /openapi.json for every route. Over a real
 * socket (app.inject skips Node's parser).
 */
import { request as httpRequest } from 'node:http';
import { maxHeaderSize } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, headersFor } = await testApp(t);
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.server.address() as AddressInfo;
const admin = headersFor('admin');

/** One request on its own connection, as a client sends it. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer) {
  return new Promise<{ statusCode: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { connection: 'close', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ statusCode: res.statusCode!, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

type Operation = { responses: Record<string, { $ref?: string; content?: { 'application/json'?: { schema?: { $ref?: string } } } }> };
const spec = (await app.inject({ url: '/openapi.json' })).json<{
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[] }> };
}>();
/** The schema a response refers to, e.g. #/components/schemas/def-0. */
const schemaOf = (response: Operation['responses'][string]) =>
  spec.components.schemas[(response.content?.['application/json']?.schema?.$ref ?? '').split('/').pop()!];
const documented = (path: string, method: string) => Object.keys(spec.paths[path]?.[method]?.responses ?? {}).map(Number);
const SHAPE = { statusCode: Number, code: String, error: String, message: String };

t.test('every route lists the statuses sent before its handler, each in the one error shape', async (t) => {
  let operations = 0;
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations++;
      const statuses = Object.keys(operation.responses).map(Number);
      const expected = [400, 408, 431, 500, ...(['post', 'patch', 'put', 'delete'].includes(method) ? [413, 415] : [])];
      t.same(
        expected.filter((s) => !statuses.includes(s)),
        [],
        `${method} ${path}: ${statuses.join(' ')}`,
      );
      for (const status of statuses.filter((s) => s >= 400 && path.startsWith('/api/'))) {
        t.match(
          schemaOf(operation.responses[status]!),
          { required: ['statusCode', 'code', 'error', 'message'] },
          `${method} ${path} ${status}: the error shape`,
        );
      }
    }
  }
  t.ok(operations > 30, `${operations} operations`);
});

t.test('a query longer than Node takes: 431 in the error shape, naming the limit', async (t) => {
  const ids = Array.from({ length: 100 }, (_, i) => `externalId=${'ЗАМ-'.repeat(8)}${i}`).join('&');
  t.ok(ids.length > 2000, 'every value valid (100 ids of under 100 characters)');
  const res = await send('GET', encodeURI(`/api/v1/orders?${ids}`), admin);
  t.equal(res.statusCode, 431);
  t.match(res.json, SHAPE);
  t.match(res.json, { code: 'HEADERS_TOO_LARGE', error: 'Request Header Fields Too Large', message: `exceed ${maxHeaderSize} bytes` });
  t.ok(documented('/api/v1/orders', 'get').includes(431), 'documented');
});

t.test(
  'a path parameter over 100 characters: 401 without a token, 400 naming it with one (it was 414 "Bad Request" echoing the path, before authentication)',
  async (t) => {
    for (const [path, route] of [
      [`/api/v1/orders/${'a'.repeat(150)}`, '/api/v1/orders/{id}'],
      [`/api/v1/products/${'1'.repeat(150)}`, '/api/v1/products/{id}'],
      [`/api/v1/orders/${'a'.repeat(5000)}/history`, '/api/v1/orders/{id}/history'],
    ] as const) {
      const anonymous = await send('GET', path);
      t.equal(anonymous.statusCode, 401, `${route}: authentication first`);
      const res = await send('GET', path, admin);
      t.equal(res.statusCode, 400, route);
      t.match(res.json, { ...SHAPE, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: /^params\.id must/ });
      t.notMatch(JSON.stringify(res.json), 'aaaaaaaaaa', 'the path is not echoed');
    }
  },
);

t.test('a malformed URL: 400 in the error shape, the URL not echoed', async (t) => {
  const res = await send('GET', '/api/v1/orders/%zzsecret', admin);
  t.equal(res.statusCode, 400);
  t.match(res.json, { ...SHAPE, code: 'FST_ERR_BAD_URL', error: 'Bad Request' });
  t.notMatch(JSON.stringify(res.json), 'secret');
});

t.test('413 and 415 are in the error shape and documented', async (t) => {
  const big = await send(
    'POST',
    '/api/v1/products',
    { ...admin, 'content-type': 'application/json' },
    `{"name": "${'x'.repeat(2 * 1024 * 1024)}"}`,
  );
  t.equal(big.statusCode, 413);
  t.match(big.json, {
    ...SHAPE,
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    message: 'The body is larger than 1048576 bytes (1024 KiB), the most this route takes',
  });
  const text = await send('POST', '/api/v1/products', { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, 'sku=1');
  t.equal(text.statusCode, 415);
  t.match(text.json, { ...SHAPE, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
  t.same(
    [413, 415].filter((s) => !documented('/api/v1/products', 'post').includes(s)),
    [],
  );
});
