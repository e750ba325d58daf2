/**
 * SalesDrive on the embedded default: the webhook stores orders and a status change made here is
 * pushed to SalesDrive's API the same way as on PostgreSQL, pg-boss's queue living in PGlite; and
 * the catalogue syncs from Dilovod (its stand-in) there too.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { LOGINS, TEST_CONFIG } from '../helpers/app.js';
import { dbMigrate } from '../helpers/commands.js';
import { dilovodConfig, dilovodStandIn, syncRun } from '../helpers/dilovod.js';
import { pgliteFolder } from '../helpers/pglite.js';

const SECRET = 'a-webhook-secret-of-salesdrive-0123456789';
const received: unknown[] = [];
const salesdrive = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    received.push(JSON.parse(body));
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
  });
});
await new Promise<void>((resolve) => salesdrive.listen(0, '127.0.0.1', resolve));

const dataDir = await pgliteFolder(t, 'legacy-migrated');
const migrated = await dbMigrate({ dataDir });
if (migrated.code !== 0) throw new Error(migrated.stderr);
const dilovod = await dilovodStandIn();
const app = await buildApp({
  ...TEST_CONFIG,
  database: { dataDir },
  dilovod: dilovodConfig(dilovod.url),
  salesdrive: {
    webhookSecret: SECRET,
    webhookRateLimit: 100,
    push: {
      url: `http://127.0.0.1:${(salesdrive.address() as AddressInfo).port}`,
      apiKey: 'key',
      formKey: 'form',
      timeout: 2,
      retryDelay: 1,
    },
  },
});
t.teardown(async () => {
  await app.close();
  salesdrive.close();
  await dilovod.close();
});

t.test('a webhook order, changed by a clerk, reaches SalesDrive', async (t) => {
  const payload = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/new-order.json', import.meta.url), 'utf8'));
  const arrived = await app.inject({ method: 'POST', url: `/api/v1/webhooks/salesdrive?token=${SECRET}`, payload });
  t.same(arrived.json(), { result: 'created', orderId: '123460', statusKept: false });
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: LOGINS.storekeeper.email, password: LOGINS.storekeeper.password },
  });
  const auth = { authorization: `Bearer ${login.json().accessToken}` };
  const patched = await app.inject({ method: 'PATCH', url: '/api/v1/orders/123460', headers: auth, payload: { status: '3' } });
  t.equal(patched.statusCode, 200);
  t.equal(patched.json().syncStatus, 'pending');
  for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(received, [{ form: 'form', id: 123460, data: { statusId: '3' } }]);
  let synced = '';
  for (let i = 0; i < 50 && synced !== 'success'; i++) {
    synced = (await app.inject({ url: '/api/v1/orders/123460', headers: auth })).json().syncStatus;
    if (synced !== 'success') await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(synced, 'success');
});

t.test('the catalogue from Dilovod, its run queued and recorded in PGlite', async (t) => {
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: LOGINS.admin.email, password: LOGINS.admin.password },
  });
  const run = await syncRun(app, { authorization: `Bearer ${login.json().accessToken}` });
  t.equal(run.state, 'succeeded', run.error ?? '');
  t.same([run.created, run.outdated], [2, 0]);
});
