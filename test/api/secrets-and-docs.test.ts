/** No response and no log line carries a password hash, a refresh token or its hash; the OpenAPI description is complete. */
import type { InjectOptions } from 'fastify';
import t from 'tap';
import { LOGINS, testApp } from '../helpers/app.js';

const { app, sql, logs, headersFor } = await testApp(t);

t.test('secrets stay out of responses and logs', async (t) => {
  const legacyHashes = (await sql`select password_hash from users`).map((r) => r.password_hash as string);
  const legacyTokenHashes = (await sql`select s->>'hash' as hash from users, jsonb_array_elements(sessions) s`).map(
    (r) => r.hash as string,
  );
  const bodies: { url: string; body: string; issuesTokens: boolean }[] = [];
  const call = async (options: InjectOptions) => {
    const res = await app.inject(options);
    const url = typeof options.url === 'string' ? options.url : (options.url?.pathname ?? '');
    bodies.push({ url, body: res.body, issuesTokens: /auth\/(login|refresh)$/.test(url) && res.statusCode === 200 });
    return res;
  };
  const issued: string[] = [];
  for (const { email, password } of Object.values(LOGINS)) {
    const res = await call({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    issued.push(res.json().refreshToken);
    const again = await call({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: res.json().refreshToken } });
    issued.push(again.json().refreshToken);
    await call({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: res.json().refreshToken } }); // a replay
    await call({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: `${password}-wrong` } });
    await call({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${again.json().accessToken}` } });
  }
  const admin = headersFor('admin');
  await call({ url: '/api/v1/users?limit=100', headers: admin });
  await call({ url: '/api/v1/users/1', headers: admin });
  await call({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { email: 'secret.test@nk-food.shop', role: 'user', password: 'a-secret-Passw0rd' },
  });
  await call({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { email: 'secret.test@nk-food.shop', role: 'user', password: 'a-secret-Passw0rd' },
  });
  await call({ method: 'PATCH', url: '/api/v1/users/5', headers: admin, payload: { password: 'another-secret-Passw0rd', isActive: true } });
  await call({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { email: 'bad', role: 'user', password: 'a-secret-Passw0rd' },
  });

  const hashesNow = (
    await sql`select password_hash, s->>'hash' as hash, s->>'previousHash' as previous from users left join jsonb_array_elements(sessions) s on true`
  ).flatMap((r) => [r.password_hash, r.hash, r.previous].filter(Boolean)) as string[];
  const secrets = [...new Set([...legacyHashes, ...legacyTokenHashes, ...hashesNow])];
  const passwords = ['a-secret-Passw0rd', 'another-secret-Passw0rd', ...Object.values(LOGINS).map((l) => l.password)];
  t.ok(secrets.length > 20 && issued.length === 12, `${secrets.length} hashes and ${issued.length} tokens to look for`);
  const requestLines = logs.filter((line) => JSON.parse(line).msg === 'request');
  t.equal(requestLines.length, bodies.length, 'one log line per request');
  t.ok(
    requestLines.every((line) => typeof JSON.parse(line).reqId === 'string'),
    'each with its request id',
  );

  const leaks = (text: string, extra: string[]) => [...secrets, ...extra].filter((s) => text.includes(s));
  for (const { url, body, issuesTokens } of bodies) {
    t.same(leaks(body, issuesTokens ? passwords : [...passwords, ...issued]), [], `response of ${url}`);
  }
  t.same(
    logs.flatMap((line) => leaks(line, [...passwords, ...issued])),
    [],
    'log lines',
  );
});

t.test('the logger censors a secret a log call carries, at any key, and logs the rest as it is', async (t) => {
  const before = logs.length;
  app.log.info(
    {
      user: { email: 'a@nk-food.shop', passwordHash: '$argon2id$secret-hash', sessions: [{ hash: 'secret-token-hash' }] },
      body: { refreshToken: 'secret-refresh-token', note: 'kept' },
      orderId: '123',
    },
    'probe',
  );
  const [line] = logs.slice(before).map((text) => JSON.parse(text));
  t.same(
    { user: line.user, body: line.body, orderId: line.orderId },
    {
      user: { email: 'a@nk-food.shop', passwordHash: '[redacted]', sessions: '[redacted]' },
      body: { refreshToken: '[redacted]', note: 'kept' },
      orderId: '123',
    },
  );
});

t.test('/openapi.json describes every route with its schemas; /docs serves the UI', async (t) => {
  const doc = (await app.inject({ url: '/openapi.json' })).json();
  t.equal(doc.openapi, '3.1.0');
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const operations = Object.entries(
    doc.paths as Record<
      string,
      Record<string, { requestBody?: unknown; responses: Record<string, unknown>; parameters?: { in: string }[] }>
    >,
  )
    .filter(([path]) => path.startsWith('/api/v1'))
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  t.equal(operations.length, 49, 'all 49 operations of /api/v1');
  for (const { path, method, op } of operations) {
    const success = op.responses['200'] ?? op.responses['201'] ?? op.responses['202'] ?? op.responses['204'];
    t.ok(success, `${method} ${path}: a success response`);
    t.ok(op.responses['400'] && op.responses['401'], `${method} ${path}: error responses`);
    // actions whose request is the caller and the path alone (log out, run a feed now, re-read an order) take no body
    if ((method === 'post' || method === 'patch') && !/\/(logout(-all)?|reconcile|refresh|sync)$/.test(path))
      t.ok(op.requestBody, `${method} ${path}: a request body schema`);
    if (path.includes('{'))
      t.ok(
        op.parameters?.some((p) => p.in === 'path'),
        `${method} ${path}: path parameters`,
      );
  }
  t.ok(doc.paths['/livez'] && doc.paths['/readyz'], 'the probes are described');
  const ui = await app.inject({ url: '/docs/' });
  t.equal(ui.statusCode, 200);
  t.match(ui.headers['content-type'], /text\/html/);
  t.match(ui.body, /swagger-ui/i, 'the Swagger UI page');
  const script = await app.inject({ url: '/docs/static/swagger-ui-bundle.js' });
  t.equal(script.statusCode, 200, 'its static files');
  t.match(script.headers['content-type'], /javascript/);
  t.equal(Number(script.headers['content-length']), script.rawPayload.length, 'whole, with their length');
  t.ok(script.headers.etag, 'and a validator');
  const again = await app.inject({ url: '/docs/static/swagger-ui-bundle.js', headers: { 'if-none-match': String(script.headers.etag) } });
  t.equal(again.statusCode, 304, 'a cached copy is not sent again');
  t.equal((await app.inject({ method: 'HEAD', url: '/docs/static/swagger-ui-bundle.js' })).statusCode, 200, 'HEAD');
  const spec = await app.inject({ url: '/docs/json' });
  t.same(spec.json(), doc, "the UI's description is the app's");
  const missing = await app.inject({ url: '/docs/no-such-file' });
  t.equal(missing.statusCode, 404);
  t.same(
    missing.json(),
    { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'Route GET /docs/no-such-file not found' },
    'an unknown path under /docs answers like any other',
  );
});

t.test('DOCS_UI=false: no Swagger UI, the OpenAPI description stays', async (t) => {
  const { app: withoutUi } = await testApp(t, { docsUi: false });
  t.equal((await withoutUi.inject({ url: '/docs/' })).statusCode, 404);
  t.equal((await withoutUi.inject({ url: '/docs/static/swagger-ui-bundle.js' })).statusCode, 404);
  t.equal((await withoutUi.inject({ url: '/openapi.json' })).statusCode, 200);
});
