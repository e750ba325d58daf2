/** Login, rotating refresh tokens, logout: the session rules of the README ("Sessions"), through HTTP. */
import { createHash } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { loginUserQuery } from '../../src/auth/logins.js';
import { LOGINS, TEST_CONFIG, testApp, testSessionId } from '../helpers/app.js';
import { connect, legacyTemplate, scratchDatabase } from '../helpers/databases.js';

// a grace window no step of these tests outlasts, even on a saturated machine (with 1 s, a replay
// meant to fall inside it fell outside once, and revoked the session as a stolen token's would)
const GRACE_SECONDS = 30;
const { app, sql } = await testApp(t, { refreshReuseGrace: GRACE_SECONDS });
const login = (email: string, password: string) => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
const refresh = (refreshToken: string) => app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// first, before any login replaces a legacy session
t.test('each legacy token carried over by the migration refreshes once, then rotates', async (t) => {
  // the sessions migration 0005 made of the slots 0002 filled: never rotated, no device label
  const legacy =
    await sql`select id, is_active from users where sessions @> '[{"previousHash": null, "device": null}]' and id in (4, 12, 16, 20, 24, 32) order by id`;
  t.equal(legacy.length, 6);
  // the raw legacy tokens: from a copy of the legacy backup
  const tokens: Record<number, string> = {};
  const copy = await scratchDatabase(await legacyTemplate());
  const legacySql = connect(copy.url);
  const rows =
    await legacySql`select distinct on ("userId") "userId" as id, token from refresh_tokens where "expiresAt" > now() at time zone 'UTC' order by "userId", "expiresAt" desc`;
  await legacySql.end();
  await copy.drop();
  for (const { id, token } of rows) tokens[id] = token;
  for (const { id, is_active } of legacy) {
    const once = await refresh(tokens[id]!);
    if (!is_active) {
      t.equal(once.statusCode, 401, `user ${id} is deactivated: its legacy token is refused`);
      continue;
    }
    t.equal(once.statusCode, 200, `user ${id}: the legacy token works`);
    t.equal((await refresh(tokens[id]!)).statusCode, 401, `user ${id}: but only once`);
    t.equal((await refresh(once.json().refreshToken)).statusCode, 200, `user ${id}: the rotated token works`);
  }
});

t.test('each known login works with its password, and its hash becomes argon2id', async (t) => {
  const known = [...Object.values(LOGINS), { email: 'user30@nk-food.shop', password: 'keeper-Passw0rd!', id: 35 }];
  for (const { email, password, id } of known) {
    const res = await login(email, password);
    t.equal(res.statusCode, 200, email);
    const body = res.json();
    t.equal(body.tokenType, 'Bearer');
    t.equal(body.expiresIn, 900);
    t.equal(body.user.id, id);
    t.notOk('passwordHash' in body.user, 'no hash in the response');
    const [row] = await sql`select password_hash, sessions, last_login_at from users where id = ${id}`;
    t.match(row!.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'rehashed to argon2id at OWASP parameters');
    const stored = (row!.sessions as { hash: string }[]).filter((s) => s.hash === sha256(body.refreshToken));
    t.equal(stored.length, 1, 'only the hash of the refresh token is stored');
    t.notMatch(JSON.stringify(row!.sessions), body.refreshToken, 'never the token itself');
    const me = await app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${body.accessToken}` } });
    t.equal(me.json().email, email);
  }
  t.equal((await login('ADMIN@nk-food.shop ', 'admin-Passw0rd!')).statusCode, 200, 'e-mail is matched ignoring case and stray spaces');
  t.equal((await login('admin@nk-food.shop', 'admin-Passw0rd!')).statusCode, 200, 'the rehashed password still works');
});

t.test('the blocked user cannot log in; wrong password and unknown e-mail look the same', async (t) => {
  const blocked = await login('blocked@nk-food.shop', 'blocked-Passw0rd!');
  t.equal(blocked.statusCode, 403);
  t.equal(blocked.json().code, 'ACCOUNT_DISABLED');
  const blockedWrong = await login('blocked@nk-food.shop', 'wrong-password');
  const wrong = await login('boss@nk-food.shop', 'wrong-password');
  const unknown = await login('nobody@nk-food.shop', 'wrong-password');
  t.equal(wrong.statusCode, 401);
  t.same(unknown.json(), wrong.json(), 'same body');
  t.same(blockedWrong.json(), wrong.json(), 'a deactivated account is not revealed without its password');
  const [row] = await sql`select password_hash from users where email = 'blocked@nk-food.shop'`;
  t.match(row!.password_hash, /^\$2b\$/, 'a failed login rehashes nothing');
});

t.test('refresh rotates: a new pair, and the old refresh token stops working', async (t) => {
  const first = (await login('boss@nk-food.shop', 'boss-Passw0rd!')).json();
  const second = await refresh(first.refreshToken);
  t.equal(second.statusCode, 200);
  t.not(second.json().refreshToken, first.refreshToken);
  t.equal(second.json().user.id, 2);
  const [row] = await sql`select sessions from users where id = 2`;
  const rotated = (row!.sessions as { hash: string; previousHash: string }[]).filter((s) => s.hash === sha256(second.json().refreshToken));
  t.same(
    rotated.map((s) => s.previousHash),
    [sha256(first.refreshToken)],
    'the session remembers the token it replaced',
  );
  const replay = await refresh(first.refreshToken);
  t.equal(replay.statusCode, 401, 'the rotated token is refused');
  t.equal(replay.json().code, 'INVALID_REFRESH_TOKEN');
  t.equal((await refresh(second.json().refreshToken)).statusCode, 200, 'within the grace window the session survives a replay');
  t.equal((await refresh('not-a-token')).statusCode, 401);
});

t.test('two concurrent refreshes with one token: exactly one succeeds', async (t) => {
  for (let round = 0; round < 5; round++) {
    const { refreshToken } = (await login('keeper@nk-food.shop', 'keeper-Passw0rd!')).json();
    const results = await Promise.all([refresh(refreshToken), refresh(refreshToken), refresh(refreshToken)]);
    t.same(results.map((r) => r.statusCode).sort(), [200, 401, 401], `round ${round + 1}`);
  }
});

t.test('a rotated token replayed after the grace window revokes the session', async (t) => {
  const first = (await login('user1@nk-food.shop', 'keeper-Passw0rd!')).json();
  const second = (await refresh(first.refreshToken)).json();
  const other = (await login('user1@nk-food.shop', 'keeper-Passw0rd!')).json();
  // the rotation is made older than the grace window
  await sql`update users set sessions = (select jsonb_agg(case when s->>'rotatedAt' is null then s
              else s || jsonb_build_object('rotatedAt', to_char((now() - make_interval(secs => ${GRACE_SECONDS + 5})) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) end)
              from jsonb_array_elements(sessions) s) where id = 6`;
  t.equal((await refresh(first.refreshToken)).statusCode, 401);
  t.equal((await refresh(second.refreshToken)).statusCode, 401, 'the current token no longer works either');
  const [row] = await sql`select sessions from users where id = 6`;
  t.notMatch(JSON.stringify(row!.sessions), sha256(first.refreshToken), 'the session is gone');
  t.equal((await refresh(other.refreshToken)).statusCode, 200, "the user's other session is not touched");
});

t.test('logout, deactivation and a password change end the session', async (t) => {
  const session = (await login('user4@nk-food.shop', 'keeper-Passw0rd!')).json();
  const auth = { authorization: `Bearer ${session.accessToken}` };
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: auth })).statusCode, 204);
  t.equal((await refresh(session.refreshToken)).statusCode, 401, 'after logout');

  const admin = { authorization: `Bearer ${(await login('admin@nk-food.shop', 'admin-Passw0rd!')).json().accessToken}` };
  const s2 = (await login('user5@nk-food.shop', 'keeper-Passw0rd!')).json();
  const off = await app.inject({ method: 'PATCH', url: '/api/v1/users/10', headers: admin, payload: { isActive: false } });
  t.equal(off.statusCode, 200);
  t.equal((await refresh(s2.refreshToken)).statusCode, 401, 'after deactivation');
  t.equal((await login('user5@nk-food.shop', 'keeper-Passw0rd!')).statusCode, 403, 'and no new login');

  const s3 = (await login('user6@nk-food.shop', 'keeper-Passw0rd!')).json();
  const self = { authorization: `Bearer ${s3.accessToken}` };
  const wrong = await app.inject({
    method: 'PATCH',
    url: '/api/v1/users/11',
    headers: self,
    payload: { password: 'a-new-Passw0rd', currentPassword: 'nope' },
  });
  t.equal(wrong.statusCode, 403, 'a wrong current password changes nothing');
  t.equal((await refresh(s3.refreshToken)).statusCode, 200, 'and keeps the session');
  const s4 = (await login('user6@nk-food.shop', 'keeper-Passw0rd!')).json();
  const changed = await app.inject({
    method: 'PATCH',
    url: '/api/v1/users/11',
    headers: { authorization: `Bearer ${s4.accessToken}` },
    payload: { password: 'a-new-Passw0rd', currentPassword: 'keeper-Passw0rd!' },
  });
  t.equal(changed.statusCode, 200);
  t.equal((await refresh(s4.refreshToken)).statusCode, 401, 'after a password change');
  t.equal((await login('user6@nk-food.shop', 'keeper-Passw0rd!')).statusCode, 401, 'the old password is gone');
  t.equal((await login('user6@nk-food.shop', 'a-new-Passw0rd')).statusCode, 200);
});

t.test('sessions on several devices: each refreshes and logs out alone; beyond MAX_SESSIONS_PER_USER the oldest ends', async (t) => {
  const devices = [];
  for (let i = 1; i <= 6; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'user7@nk-food.shop', password: 'keeper-Passw0rd!', device: `station ${i}` },
    });
    devices.push(res.json());
  }
  t.equal((await refresh(devices[0].refreshToken)).statusCode, 401, 'the sixth login ended the oldest session');
  const me = (d: { accessToken: string }) => ({ authorization: `Bearer ${d.accessToken}` });
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: me(devices[0]) })).statusCode, 401, 'and its access token');
  const rotated = [];
  for (const d of devices.slice(1)) {
    const res = await refresh(d.refreshToken);
    t.equal(res.statusCode, 200, 'the other five refresh');
    rotated.push(res.json());
  }
  const list = await app.inject({ url: '/api/v1/auth/sessions', headers: me(rotated[0]) });
  t.equal(list.statusCode, 200);
  t.same(
    list.json().map((s: { device: string }) => s.device),
    ['station 6', 'station 5', 'station 4', 'station 3', 'station 2'],
    'newest first',
  );
  t.same(
    list.json().map((s: { current: boolean }) => s.current),
    [false, false, false, false, true],
    "the caller's own is marked",
  );
  t.same(Object.keys(list.json()[0]).sort(), ['createdAt', 'current', 'device', 'expiresAt', 'id', 'lastRefreshedAt']);
  const [row] = await sql`select sessions from users where id = 12`;
  for (const s of row!.sessions as { hash: string; previousHash: string }[]) {
    t.notMatch(list.body, s.hash, 'no hash listed');
    if (s.previousHash) t.notMatch(list.body, s.previousHash, 'no previous hash listed');
  }

  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: me(rotated[0]) })).statusCode, 204);
  t.equal(
    (await app.inject({ url: '/api/v1/auth/me', headers: me(rotated[0]) })).statusCode,
    401,
    "logout ends this device's access token",
  );
  t.equal((await refresh(rotated[0].refreshToken)).statusCode, 401, 'and its refresh token');
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: me(rotated[1]) })).statusCode, 200, 'another device goes on');
  const again = await refresh(rotated[1].refreshToken);
  t.equal(again.statusCode, 200, 'and refreshes');
  t.equal((await app.inject({ url: '/api/v1/auth/sessions', headers: me(again.json()) })).json().length, 4);

  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers: me(again.json()) })).statusCode, 204);
  for (const d of rotated.slice(2)) {
    t.equal((await app.inject({ url: '/api/v1/auth/me', headers: me(d) })).statusCode, 401, 'logout-all: every access token refused');
    t.equal((await refresh(d.refreshToken)).statusCode, 401, 'and every refresh token');
  }
});

t.test('tokens are checked: none, garbage, expired, or signed with another key', async (t) => {
  const me = (authorization?: string) => app.inject({ url: '/api/v1/auth/me', headers: authorization ? { authorization } : {} });
  t.equal((await me()).statusCode, 401);
  t.equal((await me('Bearer garbage')).statusCode, 401);
  const expired = app.jwt.sign({ sub: '1', role: 'admin', sid: 'any', ver: 0 }, { expiresIn: -10 });
  const res = await me(`Bearer ${expired}`);
  t.equal(res.statusCode, 401);
  t.match(res.json().message, /expired/);
  const forged = createSigner({ key: 'another-secret-another-secret-another' })({ sub: '1', role: 'admin' });
  t.equal((await me(`Bearer ${forged}`)).statusCode, 401);
  const valid = app.signAccessToken({ id: 1, role: 'admin', sessionId: testSessionId(1), version: 0 });
  t.equal((await me(`bearer ${valid}`)).statusCode, 200, 'the scheme in any case');
  for (const header of [`Bearer  ${valid}`, `Bearer ${valid} more`, `Basic ${valid}`, valid, 'Bearer '])
    t.equal((await me(header)).statusCode, 401, `refused: ${header.replace(valid, '<token>')}`);
});

t.test('login is rate limited per e-mail and per client: 429 with Retry-After', async (t) => {
  const limited = await testApp(t, { loginRateLimit: 3, loginRateLimitPerClient: 3 });
  const attempt = (email: string, ip: string) =>
    limited.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'wrong' }, remoteAddress: ip });
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await attempt('boss@nk-food.shop', `10.0.0.${i + 1}`)).statusCode);
  t.same(codes, [401, 401, 401, 429], 'per e-mail, from different clients');
  const res = await attempt('boss@nk-food.shop', '10.0.0.9');
  t.equal(res.statusCode, 429);
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After');
  t.equal(res.json().code, 'RATE_LIMITED');
  const perClient = [];
  for (let i = 0; i < 4; i++) perClient.push((await attempt(`someone${i}@nk-food.shop`, '10.0.1.1')).statusCode);
  t.same(perClient, [401, 401, 401, 429], 'per client, over different e-mails');
});

t.test('behind a trusted proxy, the per-client limit counts each client, not the proxy', async (t) => {
  const proxied = await testApp(t, { loginRateLimit: 100, loginRateLimitPerClient: 2, trustProxy: ['10.0.0.0/8'] });
  const attempt = (client: string) =>
    proxied.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'boss@nk-food.shop', password: 'wrong' },
      remoteAddress: '10.0.0.1', // the ingress
      headers: { 'x-forwarded-for': client },
    });
  const codes = [];
  for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) codes.push((await attempt(client)).statusCode);
  t.same(codes, [401, 401, 401, 401], 'four clients behind one proxy: none limited');
  const same = [];
  for (let i = 0; i < 3; i++) same.push((await attempt('198.51.100.7, 203.0.113.9')).statusCode);
  t.same(same, [401, 401, 429], 'one client (the address the proxy saw): limited');
});

t.test('a token signed with the secret but without exp, or with a sub that is not a user id: 401', async (t) => {
  const sign = createSigner({ key: TEST_CONFIG.jwtSecret, algorithm: 'HS256' });
  const claims = { sub: '1', role: 'admin', sid: testSessionId(1), ver: 0 };
  const asAdmin = (token: string) => app.inject({ url: '/api/v1/orders?limit=1', headers: { authorization: `Bearer ${token}` } });
  t.equal((await asAdmin(sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 60 }))).statusCode, 200, 'the same claims with exp: 200');
  const noExp = await asAdmin(sign(claims));
  t.equal(noExp.statusCode, 401, 'without exp: 401');
  t.equal(noExp.json().code, 'UNAUTHORIZED');
  for (const sub of ['abc', '1.5', '-1', '', '99999999999']) {
    const res = await asAdmin(sign({ ...claims, sub, exp: Math.floor(Date.now() / 1000) + 60 }));
    t.equal(res.statusCode, 401, `sub ${JSON.stringify(sub)}: 401`);
  }
  const numeric = await asAdmin(sign({ ...claims, sub: 1, exp: Math.floor(Date.now() / 1000) + 60 }));
  t.equal(numeric.statusCode, 401, 'sub as a JSON number (we issue strings): 401');
});

/** Thrown to roll back a transaction whose reading is all a test wants. */
class RolledBack extends Error {
  constructor(readonly reading: string) {
    super('rolled back');
  }
}

t.test("a login's look-up reads the index of its expression, not the whole of users", async (t) => {
  const { sql: text, params } = loginUserQuery(app.db).toSQL();
  t.equal(params.length, 3, 'the address, in the condition and in the order; the limit');
  // many accounts, in a transaction rolled back: with a dozen, a scan of the table is the cheaper plan
  const plan = await sql
    .begin(async (tx) => {
      await tx`insert into users (email, role, password_hash) select 'plan-' || i || '@example.com', 'user', 'x' from generate_series(1, 20000) i`;
      await tx`analyze users`;
      await tx.unsafe(`prepare login_probe as ${text}`);
      const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(
        `explain execute login_probe('plan-7@example.com', 'plan-7@example.com', 1)`,
      );
      throw new RolledBack(rows.map((row) => row['QUERY PLAN']).join('\n'));
    })
    .catch((error: unknown) => {
      if (error instanceof RolledBack) return error.reading;
      throw error;
    });
  t.match(plan, 'users_email_trimmed_idx', plan);
  t.notMatch(plan, 'Seq Scan', plan);
});
