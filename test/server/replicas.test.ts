/**
 * Two service processes on one PostgreSQL database, as Kubernetes runs replicas: what one replica
 * changes, the other enforces on the next request (revocation), sessions on several devices hold
 * whichever replica a device talks to, and login limits count the attempts of both.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { LOGINS } from '../helpers/app.js';
import { connect, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { startServer, type ServerProcess } from '../helpers/server.js';

const LIMIT = 5;
const db = await scratchDatabase(await migratedTemplate());
const [a, b] = (await Promise.all(
  [1, 2].map(() =>
    startServer({
      DATABASE_URL: db.url,
      NODE_ENV: 'production',
      LOGIN_RATE_LIMIT: String(LIMIT),
      LOGIN_RATE_LIMIT_PER_CLIENT: String(LIMIT),
      // each test logs in from its own client address, so that the per-client limit is the limit test's alone
      TRUST_PROXY: 'true',
    }),
  ),
)) as [ServerProcess, ServerProcess];
const sql = connect(db.url);
t.teardown(async () => {
  a.child.kill('SIGKILL');
  b.child.kill('SIGKILL');
  await Promise.all([a.exited, b.exited]);
  await sql.end();
  await db.drop();
});

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer, read field by field
  body: any;
}
let clients = 0;
/** A client address no other request of this file uses (the proxy's own address after it). */
const newClient = () => `198.18.${Math.floor(++clients / 250)}.${(clients % 250) + 1}, 10.0.0.1`;
async function call(
  server: ServerProcess,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; client?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.client ?? newClient() };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url(path), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const login = (server: ServerProcess, email: string, password: string, device?: string) =>
  call(server, 'POST', '/api/v1/auth/login', { body: { email, password, ...(device ? { device } : {}) } });
const refresh = (server: ServerProcess, refreshToken: string) => call(server, 'POST', '/api/v1/auth/refresh', { body: { refreshToken } });
const me = (server: ServerProcess, token: string) => call(server, 'GET', '/api/v1/auth/me', { token });

/** Polls until `check` holds or `ms` have passed: the issue asks for "within a second". */
async function within(ms: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + ms;
  do {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  } while (Date.now() < deadline);
  return check();
}
const refusedWithin = (ms: number, server: ServerProcess, token: string) =>
  within(ms, async () => (await me(server, token)).status === 401);

const admin = (await login(a, LOGINS.admin.email, LOGINS.admin.password)).body.accessToken as string;
let users = 0;
/** A new user, created through the API; returns its id, e-mail and password. */
async function newUser(role: string) {
  const email = `replica-${++users}-${randomBytes(3).toString('hex')}@nk-food.shop`;
  const password = `Passw0rd-${randomBytes(6).toString('hex')}`;
  const created = await call(a, 'POST', '/api/v1/users', { token: admin, body: { email, password, role } });
  if (created.status !== 201) throw new Error(`cannot create a user: ${JSON.stringify(created.body)}`);
  return { id: created.body.id as number, email, password };
}
/** Logs in on `server`, and uses the token on both replicas (so that both have it cached). */
async function loggedIn(server: ServerProcess, user: { email: string; password: string }, device?: string) {
  const session = await login(server, user.email, user.password, device);
  if (session.status !== 200) throw new Error(`login failed: ${JSON.stringify(session.body)}`);
  for (const s of [a, b]) if ((await me(s, session.body.accessToken)).status !== 200) throw new Error('fresh token refused');
  return session.body as { accessToken: string; refreshToken: string };
}

t.test('a deactivation on one replica: the other refuses the access token within a second, and the refresh token', async (t) => {
  const user = await newUser('storekeeper');
  const session = await loggedIn(b, user);
  t.equal((await call(a, 'PATCH', `/api/v1/users/${user.id}`, { token: admin, body: { isActive: false } })).status, 200);
  t.ok(await refusedWithin(1000, b, session.accessToken), 'replica B refuses the access token');
  t.equal((await me(a, session.accessToken)).status, 401, 'so does A');
  t.equal((await refresh(b, session.refreshToken)).status, 401, 'and the refresh token is dead');
});

t.test('a role taken away on one replica: the old token is refused on the other; a refresh brings the new role', async (t) => {
  const user = await newUser('boss');
  const session = await loggedIn(a, user);
  const deleteOrder = (token: string) => call(b, 'DELETE', '/api/v1/orders/no-such-order', { token });
  t.equal((await deleteOrder(session.accessToken)).status, 404, 'a boss may delete orders');
  t.equal((await call(a, 'PATCH', `/api/v1/users/${user.id}`, { token: admin, body: { role: 'user' } })).status, 200);
  t.ok(await refusedWithin(1000, b, session.accessToken), 'replica B refuses the boss token');
  const renewed = await refresh(b, session.refreshToken);
  t.equal(renewed.status, 200, 'the session goes on');
  t.equal(renewed.body.user.role, 'user');
  t.equal((await deleteOrder(renewed.body.accessToken)).status, 403, 'as a user');
});

t.test('a password change on one replica ends every session, on both replicas', async (t) => {
  const user = await newUser('user');
  const phone = await loggedIn(a, user, 'phone');
  const station = await loggedIn(b, user, 'station');
  const changed = await call(b, 'PATCH', `/api/v1/users/${user.id}`, {
    token: station.accessToken,
    body: { password: 'a-new-Passw0rd', currentPassword: user.password },
  });
  t.equal(changed.status, 200);
  t.ok(await refusedWithin(1000, a, phone.accessToken), 'replica A refuses the phone');
  t.ok(await refusedWithin(1000, a, station.accessToken), 'and the station');
  t.equal((await refresh(a, phone.refreshToken)).status, 401);
  t.equal((await refresh(b, station.refreshToken)).status, 401);
});

t.test("sessions on two devices: each refreshes on either replica; logout ends this device's only; logout-all ends all", async (t) => {
  const user = await newUser('storekeeper');
  const phone = await loggedIn(a, user, 'phone');
  let station = await loggedIn(b, user, 'station');

  const list = await call(a, 'GET', '/api/v1/auth/sessions', { token: phone.accessToken });
  t.same(
    list.body.map((s: { device: string; current: boolean }) => [s.device, s.current]),
    [
      ['station', false],
      ['phone', true],
    ],
  );
  const [row] = await sql`select sessions from users where id = ${user.id}`;
  for (const s of row!.sessions as { hash: string }[]) t.notMatch(JSON.stringify(list.body), s.hash, 'no hash listed');

  const phoneRenewed = await refresh(b, phone.refreshToken);
  t.equal(phoneRenewed.status, 200, 'the phone refreshes on B');
  const stationRenewed = await refresh(a, station.refreshToken);
  t.equal(stationRenewed.status, 200, 'the station refreshes on A');
  station = stationRenewed.body;

  // one token presented to both replicas at once: exactly one rotation
  const race = await Promise.all([refresh(a, station.refreshToken), refresh(b, station.refreshToken)]);
  t.same(race.map((r) => r.status).sort(), [200, 401], 'two concurrent refreshes with one token: exactly one succeeds');
  station = race.find((r) => r.status === 200)!.body;

  await me(b, station.accessToken); // cached on B
  t.equal((await call(a, 'POST', '/api/v1/auth/logout', { token: station.accessToken })).status, 204, 'the station logs out on A');
  t.ok(await refusedWithin(1000, b, station.accessToken), 'B refuses the station within a second');
  t.equal((await me(b, phoneRenewed.body.accessToken)).status, 200, 'the phone goes on');
  t.equal((await call(b, 'GET', '/api/v1/auth/sessions', { token: phoneRenewed.body.accessToken })).body.length, 1);

  const again = await loggedIn(a, user, 'station');
  t.equal((await call(b, 'POST', '/api/v1/auth/logout-all', { token: again.accessToken })).status, 204);
  t.ok(await refusedWithin(1000, a, phoneRenewed.body.accessToken), 'logout-all: A refuses the phone');
  t.ok(await refusedWithin(1000, a, again.accessToken), 'and the station');
  t.equal((await refresh(a, phoneRenewed.body.refreshToken)).status, 401);
});

t.test('login limits count the attempts on both replicas: per e-mail and per client', async (t) => {
  const user = await newUser('user');
  const perEmail = [];
  for (let i = 0; i <= LIMIT; i++) perEmail.push((await login(i % 2 ? b : a, user.email, 'wrong-password')).status);
  t.same(perEmail, [...Array(LIMIT).fill(401), 429], `${LIMIT} attempts for one e-mail over both replicas, then 429`);
  t.equal((await login(b, user.email, user.password)).status, 429, 'the right password too, until the minute is over');

  const client = newClient();
  const perClient = [];
  for (let i = 0; i <= LIMIT; i++) {
    const res = await call(i % 2 ? b : a, 'POST', '/api/v1/auth/login', {
      client,
      body: { email: `nobody-${i}@nk-food.shop`, password: 'x' },
    });
    perClient.push(res.status);
  }
  t.same(perClient, [...Array(LIMIT).fill(401), 429], `${LIMIT} attempts from one client over both replicas, then 429`);
});

t.test('when the LISTEN connection drops, a replica still refuses a revoked token', async (t) => {
  const user = await newUser('storekeeper');
  const session = await loggedIn(a, user);
  const killed = await sql`select pg_terminate_backend(pid) from pg_stat_activity
                            where datname = ${db.name} and query ilike 'listen%' and pid <> pg_backend_pid()`;
  t.ok(killed.length >= 2, 'both replicas lost their LISTEN connection');
  t.equal((await call(b, 'PATCH', `/api/v1/users/${user.id}`, { token: admin, body: { isActive: false } })).status, 200);
  // re-listening empties the cache, and a silent channel stops it being used: seconds, not minutes
  t.ok(await refusedWithin(10_000, a, session.accessToken), 'replica A refuses the token');
  const other = await loggedIn(b, await newUser('user'));
  t.equal((await me(a, other.accessToken)).status, 200, 'and still serves the others');
});
