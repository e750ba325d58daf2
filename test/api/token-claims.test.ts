/**
 * The claims of an access token and the trigger that revokes them stay one list: the columns of
 * src/auth/token-claims.ts are the ones trigger users_auth_change (migration 0005) watches, and a
 * change to each of them, made outside this process (another replica, the reset command, a DBA),
 * stops a token this process had already accepted.
 */
import t from 'tap';
import { fromJwtClaims, REVOKING_COLUMNS, toJwtClaims, type TokenClaims } from '../../src/auth/token-claims.js';
import { LOGINS, testApp } from '../helpers/app.js';

t.test("a token's claims survive their JWT form", async (t) => {
  const claims: TokenClaims = { id: 42, role: 'storekeeper', sessionId: 'a-session', version: 3 };
  t.same(fromJwtClaims(toJwtClaims(claims)), claims);
  t.ok(Number.isNaN(fromJwtClaims({ ...toJwtClaims(claims), sub: '42abc' }).id), 'a sub that is not all digits is no user id');
});

t.test('trigger users_auth_change watches exactly the columns the claims are checked against', async (t) => {
  const { sql } = await testApp(t);
  const [trigger] = await sql<{ definition: string }[]>`
    select pg_get_triggerdef(oid) as definition from pg_trigger
     where tgrelid = 'public.users'::regclass and tgname = 'users_auth_change'`;
  const watched = [...new Set([...trigger!.definition.matchAll(/\bold\."?(\w+)/gi)].map((match) => match[1]!))];
  t.same(watched.sort(), [...REVOKING_COLUMNS].sort());
});

/** Each revoking column, changed behind the service's back so that only the trigger's NOTIFY can tell it. */
const changes: Record<string, string> = {
  token_version: 'token_version = token_version + 1',
  role: "role = 'boss'",
  is_active: 'is_active = false',
  sessions: "sessions = '[]'::jsonb",
};

t.test('a change to each revoking column, made elsewhere, refuses a token already accepted here', async (t) => {
  t.same(Object.keys(changes).sort(), [...REVOKING_COLUMNS].sort(), 'every revoking column is tried');
  const { app, sql, tokenFor } = await testApp(t);
  const me = (authorization: string) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization } });
  const [user] = await sql<{ id: number }[]>`select id from users where id = ${LOGINS.storekeeper.id}`;
  const [saved] = await sql<{ version: number; role: string; active: boolean; sessions: string }[]>`
    select token_version as version, role, is_active as active, sessions::text as sessions from users where id = ${user!.id}`;
  /** The status of /auth/me once it is `expected`, or after 10 s of it not being so (NOTIFYs are asynchronous). */
  const statusOnceIt = async (authorization: string, expected: number) => {
    let status = (await me(authorization)).statusCode;
    for (const started = Date.now(); status !== expected && Date.now() - started < 10_000;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await me(authorization)).statusCode;
    }
    return status;
  };
  for (const [column, change] of Object.entries(changes)) {
    const authorization = `Bearer ${tokenFor('storekeeper')}`;
    // twice: the second answer comes from this process's cache of the user
    t.equal(await statusOnceIt(authorization, 200), 200, `${column}: accepted before`);
    t.equal((await me(authorization)).statusCode, 200, `${column}: accepted from the cache`);
    await sql.unsafe(`update users set ${change} where id = ${user!.id}`);
    t.equal(await statusOnceIt(authorization, 401), 401, `${column}: refused once the change is committed`);
    await sql`update users set token_version = ${saved!.version}, role = ${saved!.role}, is_active = ${saved!.active},
                               sessions = ${saved!.sessions}::text::jsonb where id = ${user!.id}`;
  }
});

t.test(
  'the replica that deactivates a user refuses its token at once, though a request during the commit read the old state',
  async (t) => {
    const { app, sql, headersFor } = await testApp(t);
    const { id } = LOGINS.storekeeper;
    // without the NOTIFY (it would make every replica forget, this one too, a moment later), only this
    // replica's own forgetting, after the commit, can refuse the token; and the commit takes half a
    // second (a deferred trigger), long after the route's own work is done
    await sql.unsafe(`
    alter table users disable trigger users_auth_change;
    create function slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(0.5); return null; end $$;
    create constraint trigger slow_commit after update on users deferrable initially deferred for each row execute function slow_commit()`);
    const keeper = headersFor('storekeeper');
    const me = () => app.inject({ url: '/api/v1/auth/me', headers: keeper });
    t.equal((await me()).statusCode, 200);
    const deactivation = app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${id}`,
      headers: headersFor('admin'),
      payload: { isActive: false },
    });
    const during: number[] = [];
    let done = false;
    void deactivation.finally(() => (done = true));
    while (!done) {
      during.push((await me()).statusCode);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.equal((await deactivation).statusCode, 200);
    t.ok(during.includes(200), `requests while the change was committing were served as before it (${during.length})`);
    t.equal((await me()).statusCode, 401, 'the first request after the answer is refused');
  },
);
