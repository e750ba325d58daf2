/**
 * Every route's path and query integers and booleans, from /openapi.json (a new route is covered
 * by itself): canonical decimal text or a 400 naming the parameter; `true`/`false` only. Written
 * loosely they were converted: DELETE /users/true deleted user 1, /products/0xa6 product 166.
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);
const admin = headersFor('admin');

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: { type?: string; items?: { type?: string }; anyOf?: { type?: string }[] };
}
type Operation = { parameters?: Parameter[] };
const spec = (await app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, Record<string, Operation>> }>();

const LOOSE_INTEGERS = ['0x87', '1.35e2', '+135', ' 135', '0b10000111', '135.0', 'true', '1e1', '0135', '-0', '9007199254740993', '１３５'];
const LOOSE_BOOLEANS = ['1', '0', 'TRUE', 'yes', ' true', 'false '];

const kindOf = (schema: Parameter['schema']): string | undefined =>
  schema.type === 'array'
    ? kindOf(schema.items ?? {})
    : (schema.type ?? schema.anyOf?.map((s) => s.type).find((k) => k === 'integer' || k === 'boolean'));
const fine = (p: Parameter) =>
  kindOf(p.schema) === 'integer' ? (p.in === 'path' ? '2147483000' : '1') : kindOf(p.schema) === 'boolean' ? 'true' : 'x';

let checked = 0;
for (const [path, operations] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(operations)) {
    const parameters = (operation.parameters ?? []).filter((p) => p.in !== 'header');
    const url = (values: Map<Parameter, string>) => {
      let address = path;
      const query = new URLSearchParams();
      for (const p of parameters) {
        const value = values.get(p) ?? (p.in === 'path' || p.required ? fine(p) : undefined);
        if (value === undefined) continue;
        if (p.in === 'path') address = address.replace(`{${p.name}}`, encodeURIComponent(value));
        else query.set(p.name, value);
      }
      return query.size ? `${address}?${query}` : address;
    };
    for (const p of parameters) {
      const kind = kindOf(p.schema);
      if (kind !== 'integer' && kind !== 'boolean') continue;
      checked++;
      const part = p.in === 'path' ? 'params' : 'querystring';
      t.test(`${method.toUpperCase()} ${path}: ${part}.${p.name}`, async (t) => {
        for (const loose of kind === 'integer' ? LOOSE_INTEGERS : LOOSE_BOOLEANS) {
          const res = await app.inject({ method: method.toUpperCase() as 'GET', url: url(new Map([[p, loose]])), headers: admin });
          t.equal(res.statusCode, 400, `${JSON.stringify(loose)}: 400 (${res.body.slice(0, 200)})`);
          t.match(res.json(), {
            statusCode: 400,
            code: 'FST_ERR_VALIDATION',
            error: 'Bad Request',
            message: new RegExp(`^${part}\\.${p.name} must be`),
          });
        }
        const canonical = await app.inject({ method: method.toUpperCase() as 'GET', url: url(new Map()), headers: admin });
        // a PATCH then stops at its missing body: the parameter itself passed
        t.notMatch(canonical.json().message ?? '', `${part}.${p.name}`, `written canonically it passes (${canonical.statusCode})`);
        t.not(canonical.statusCode, 500);
      });
    }
  }
}

t.test('the routes were found in /openapi.json', async (t) => {
  t.ok(checked >= 15, `${checked} integer and boolean parameters`);
});

t.test('DELETE /users/true and /products/0xa6 delete nothing', async (t) => {
  const [before] = await sql`select (select count(*)::int from users) as users, (select count(*)::int from products) as products`;
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/users/true', headers: admin })).statusCode, 400);
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/products/0xa6', headers: admin })).statusCode, 400);
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/users/01', headers: admin })).statusCode, 400);
  const [after] = await sql`select (select count(*)::int from users) as users, (select count(*)::int from products) as products`;
  t.same(after, before, 'no row deleted');
  t.match((await app.inject({ url: '/api/v1/box-settings/recommend?portions=0x10', headers: admin })).json(), {
    statusCode: 400,
    message: /^querystring\.portions must be a whole number/,
  });
  t.equal((await app.inject({ url: '/api/v1/products?limit=1e1', headers: admin })).statusCode, 400);
  t.equal((await app.inject({ url: '/api/v1/products?limit=10', headers: admin })).statusCode, 200, 'limit=10 is fine');
});
