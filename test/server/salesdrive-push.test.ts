/**
 * Status changes pushed back to SalesDrive, as it meets them: two service processes on one
 * database, a local HTTP server standing in for SalesDrive's API (it cannot be reached from here)
 * that is down, then slow, then up, and one replica restarted while changes wait. Every change
 * reaches SalesDrive once, in order per order, none lost; failures show in sync_status and /metrics.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { LOGINS } from '../helpers/app.js';
import { connect, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { outputOnceItSays, startServer, type ServerProcess } from '../helpers/server.js';

const WEBHOOK_SECRET = 'a-webhook-secret-of-salesdrive-0123456789';
const API_KEY = 'salesdrive-api-key-never-logged';
const FORM_KEY = 'salesdrive-form-key-never-logged';

interface Received {
  id: unknown;
  statusId: unknown;
  form: unknown;
  apiKey: unknown;
}
/** SalesDrive's order API as the old back office called it; `mode` says how it behaves now. */
let mode: 'up' | 'slow' | 'failing' = 'up';
const accepted: Received[] = [];
/** A status this SalesDrive does not have: it answers success: false. */
const REFUSED_STATUS = '66';
let refusals = 0;
const salesdrive = createServer((request: IncomingMessage, response: ServerResponse) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const answer = () => {
      if (request.method !== 'POST' || request.url !== '/api/order/update/') return response.writeHead(404).end('{"success":false}');
      if (mode === 'failing') return response.writeHead(503).end('{"success":false,"message":"maintenance"}');
      if (response.destroyed) return; // the service gave up waiting: SalesDrive's change did not happen
      const { id, form, data } = JSON.parse(body);
      if (data?.statusId === REFUSED_STATUS) {
        refusals++;
        return response.writeHead(200, { 'content-type': 'application/json' }).end('{"success":false,"message":"Статус не знайдено"}');
      }
      accepted.push({ id, statusId: data?.statusId, form, apiKey: request.headers['x-api-key'] });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
    };
    if (mode === 'slow') setTimeout(answer, 2500);
    else answer();
  });
});
await new Promise<void>((resolve) => salesdrive.listen(0, '127.0.0.1', resolve));
const salesdrivePort = (salesdrive.address() as AddressInfo).port;
/** Down: nothing listens on SalesDrive's port (connection refused). */
const down = () => new Promise<void>((resolve) => salesdrive.close(() => resolve()).closeAllConnections());
const up = () => new Promise<void>((resolve) => salesdrive.listen(salesdrivePort, '127.0.0.1', resolve));

const db = await scratchDatabase(await migratedTemplate());
const env = {
  DATABASE_URL: db.url,
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  SALESDRIVE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  SALESDRIVE_URL: `http://127.0.0.1:${salesdrivePort}`,
  SALESDRIVE_API_KEY: API_KEY,
  SALESDRIVE_FORM_KEY: FORM_KEY,
  SALESDRIVE_TIMEOUT: '1',
  SALESDRIVE_RETRY_DELAY: '1',
};
const servers: ServerProcess[] = [];
const start = async () => {
  const server = await startServer(env);
  servers.push(server);
  return server;
};
const [first, b] = await Promise.all([start(), start()]);
let a = first;
const sql = connect(db.url);
t.teardown(async () => {
  if (process.env.DEBUG_PUSH)
    console.error(
      servers
        .map((s) => s.output())
        .join('\n')
        .split('\n')
        .filter((l) => /push|queue|rror/i.test(l))
        .join('\n'),
    );
  for (const server of servers) server.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
  await sql.end();
  await db.drop();
  salesdrive.close();
  salesdrive.closeAllConnections();
});

async function call(server: ServerProcess, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(server.url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
}
const login = async (server: ServerProcess) => {
  const answer = await call(server, 'POST', '/api/v1/auth/login', {
    email: LOGINS.storekeeper.email,
    password: LOGINS.storekeeper.password,
  });
  // thrown, not asserted: an assertion before the first subtest would end the root test early
  if (answer.status !== 200) throw new Error(`login answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.accessToken as string;
};

/** Polls until `check` holds, at most `ms`. */
async function within(ms: number, check: () => Promise<boolean>) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if (await check()) return true;
  }
  return check();
}
const syncOf = async (id: string) => (await sql`select status, sync_status, sync_error from orders where id = ${id}`)[0]!;
const pushedTo = (id: string) => accepted.filter((r) => String(r.id) === id).map((r) => r.statusId);

const newOrder = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/new-order.json', import.meta.url), 'utf8'));
const ORDERS = ['223001', '223002', '223003'];
for (const id of ORDERS) {
  const payload = structuredClone(newOrder);
  payload.data.id = Number(id);
  const arrived = await call(a, 'POST', `/api/v1/webhooks/salesdrive?token=${WEBHOOK_SECRET}`, payload);
  // no assertion before the first subtest: tap would end the root test (and run the teardown) early
  if (arrived.status !== 200) throw new Error(`order ${id} did not arrive: ${JSON.stringify(arrived.body)}`);
}
let tokenA = await login(a);
const tokenB = await login(b);
const setStatus = (server: ServerProcess, token: string, id: string, status: string) =>
  call(server, 'PATCH', `/api/v1/orders/${id}`, { status }, token);

t.test('a status change made here reaches SalesDrive with the key and form the old back office sent', async (t) => {
  const patched = await setStatus(a, tokenA, '223001', '2');
  t.equal(patched.status, 200);
  t.equal(patched.body.syncStatus, 'pending', 'on its way');
  t.ok(await within(10_000, async () => (await syncOf('223001')).sync_status === 'success'), 'delivered');
  t.same(accepted.at(-1), { id: 223001, statusId: '2', form: FORM_KEY, apiKey: API_KEY });
  t.same(pushedTo('223001'), ['2']);
  const unchanged = await call(b, 'PATCH', '/api/v1/orders/223001', { ttn: '20450000000001' }, tokenB);
  t.equal(unchanged.status, 200, 'a change on the other replica', { answer: unchanged.body });
  await new Promise((r) => setTimeout(r, 1500));
  t.same(pushedTo('223001'), ['2'], 'a change that is not of the status pushes nothing');
});

t.test('SalesDrive down, then slow, then up, a replica restarted in between: every change once, in order per order', async (t) => {
  await down();
  const expected: Record<string, string[]> = { '223001': ['2'], '223002': [], '223003': [] };
  const changes: [string, string][] = [
    ['223001', '3'],
    ['223002', '2'],
    ['223001', '4'],
    ['223003', '2'],
    ['223002', '3'],
    ['223002', '4'],
    ['223001', '5'],
  ];
  for (const [i, [id, status]] of changes.entries()) {
    const server = i % 2 ? b : a;
    const answer = await setStatus(server, server === a ? tokenA : tokenB, id, status);
    t.equal(answer.status, 200, `PATCH ${id} → ${status}`, { answer: answer.body });
    expected[id]!.push(status);
  }
  t.ok(await within(10_000, async () => (await syncOf('223002')).sync_status === 'error'), 'a failed push shows in sync_status');
  const failed = await syncOf('223002');
  t.match(failed.sync_error, /fetch failed|ECONNREFUSED|did not answer/, 'and says why');
  t.notMatch(failed.sync_error, API_KEY);
  t.equal(failed.status, '4', "the clerk's status stays meanwhile");

  // a SalesDrive delivery that does not know the clerk's change yet does not undo it
  const echo = structuredClone(newOrder);
  Object.assign(echo.data, { id: 223002, statusId: 1, updateAt: '2099-01-01 00:00:00' });
  echo.info.webhookEvent = 'status_change';
  const stale = await call(b, 'POST', `/api/v1/webhooks/salesdrive?token=${WEBHOOK_SECRET}`, echo);
  t.equal(stale.body.statusKept, true);
  t.match(await syncOf('223002'), { status: '4', sync_status: 'error' }, 'its status and sync_status still tell of the failing push');

  // one replica stops (as a rollout does) while the changes wait; another takes its place
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0, 'stops cleanly with pushes pending');
  a = await start();
  tokenA = await login(a);

  mode = 'slow';
  await up();
  await new Promise((r) => setTimeout(r, 4000));
  t.same(accepted.length, 1, 'a push SalesDrive answers too late counts as failed (and is sent again)');
  mode = 'failing';
  await new Promise((r) => setTimeout(r, 2000));
  mode = 'up';
  const done = await within(60_000, async () => {
    const rows = await sql`select sync_status from orders where id in ${sql(ORDERS)}`;
    return rows.every((r) => r.sync_status === 'success');
  });
  t.ok(done, 'every order is in sync once SalesDrive is back');
  for (const id of ORDERS) t.same(pushedTo(id), expected[id], `order ${id}: each change once, in the order made`);
  const queued = await sql`select state, count(*)::int as n from pgboss.job where name = 'salesdrive-status' group by state`;
  t.same(queued, [{ state: 'completed', n: 8 }], 'nothing left in the queue');

  const metrics = /metrics: (http:\/\/\S+\/metrics)/.exec(await outputOnceItSays(b, /metrics: http/))![1]!;
  const text = await (await fetch(metrics)).text();
  t.match(text, /backoffice_salesdrive_pushes_total\{outcome="failed"\} [1-9]/, 'failures are counted in /metrics');
  t.match(text, /backoffice_salesdrive_pushes_total\{outcome="delivered"\} [1-9]/);
  const logs = servers.map((s) => s.output()).join('');
  t.notMatch(logs, API_KEY, 'the API key is never logged');
  t.notMatch(logs, FORM_KEY, 'nor the form key');
  t.notMatch(logs, WEBHOOK_SECRET, 'nor the webhook secret');
});

t.test('a push SalesDrive refuses is not retried, shows in sync_error, and holds back no later change', async (t) => {
  const refusedBefore = refusals;
  const patched = await call(a, 'PATCH', '/api/v1/orders/223003', { status: REFUSED_STATUS, statusText: 'Своє' }, tokenA);
  t.equal(patched.status, 200);
  t.ok(await within(10_000, async () => (await syncOf('223003')).sync_status === 'error'), 'the refusal shows');
  t.match((await syncOf('223003')).sync_error, /SalesDrive refused status 66: 200 Статус не знайдено/);
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(refusals - refusedBefore, 1, 'sent once: the same request would be refused again');
  const next = await setStatus(b, tokenB, '223003', '5');
  t.equal(next.status, 200);
  t.ok(await within(10_000, async () => (await syncOf('223003')).sync_status === 'success'));
  t.same(pushedTo('223003').at(-1), '5');
});
