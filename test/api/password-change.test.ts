/**
 * Changing one's own password runs its check inside the update's transaction: on the embedded PGlite
 * (one connection) it answers and the service keeps serving; on PostgreSQL, more concurrent changes
 * than the pool has connections all answer.
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { ensureFirstAdmin } from '../../src/migrate/first-admin.js';
import { runMigrations } from '../../src/migrate/migrator.js';
import type { Role } from '../../src/db/schema.js';
import { LOGINS, TEST_CONFIG, testApp } from '../helpers/app.js';
import { pgliteFolder } from '../helpers/pglite.js';

/** The response, or 'no answer' when the service hangs (a deadlock never answers; 60 s is far beyond any answer here). */
async function answered<T>(response: Promise<T>): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const never = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), 60_000)));
  try {
    return await Promise.race([response, never]);
  } finally {
    clearTimeout(timer);
  }
}

t.test('PGlite: a storekeeper changes their own password, and the service still serves', async (t) => {
  const dataDir = await pgliteFolder(t, 'migrated');
  const admin = { email: 'admin@backoffice.local', password: 'first-admin-Passw0rd' };
  await runMigrations(
    { dataDir },
    async () => undefined,
    (client) => ensureFirstAdmin(client, admin, false),
  );
  const app = await buildApp({ database: { dataDir }, ...TEST_CONFIG });
  t.teardown(() => app.close());
  const login = (email: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });

  const adminAuth = { authorization: `Bearer ${(await login(admin.email, admin.password)).json().accessToken}` };
  const keeper = { email: 'keeper@nk-food.shop', role: 'storekeeper', password: 'keeper-Passw0rd!' };
  const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: adminAuth, payload: keeper });
  t.equal(created.statusCode, 201, created.body);
  const session = (await login(keeper.email, keeper.password)).json();
  const change = await answered(
    app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${session.user.id}`,
      headers: { authorization: `Bearer ${session.accessToken}` },
      payload: { currentPassword: keeper.password, password: 'a-new-keeper-Passw0rd' },
    }),
  );
  t.not(change, 'no answer', 'the change answers');
  if (change === 'no answer') return;
  t.equal(change.statusCode, 200, change.body);
  const ready = await answered(app.inject({ url: '/readyz' }));
  t.equal(ready === 'no answer' ? ready : ready.statusCode, 200, '/readyz still answers');
  t.equal((await login(keeper.email, 'a-new-keeper-Passw0rd')).statusCode, 200, 'the new password works');
  t.equal((await login(keeper.email, keeper.password)).statusCode, 401, 'the old one does not');
});

t.test('PostgreSQL: 20 concurrent self-service password changes (pool of 10) all answer', async (t) => {
  const { app, sql, tokenForUser } = await testApp(t);
  // legacy accounts user1…user30 share one known password (test/fixtures); a deactivated one's token is refused
  const people = await sql<{ id: number; role: Role }[]>`
    select id, role from users where email ~ '^user[0-9]+@' and role <> 'admin' and is_active order by id limit 20`;
  t.equal(people.length, 20);
  const changes = await answered(
    Promise.all(
      people.map(({ id, role }) =>
        app.inject({
          method: 'PATCH',
          url: `/api/v1/users/${id}`,
          headers: { authorization: `Bearer ${tokenForUser(id, role)}` },
          payload: { currentPassword: 'keeper-Passw0rd!', password: `new-Passw0rd-${id}` },
        }),
      ),
    ),
  );
  t.not(changes, 'no answer', 'every change answers');
  if (changes === 'no answer') return;
  t.same(
    changes.map((r) => r.statusCode),
    people.map(() => 200),
    changes
      .filter((r) => r.statusCode !== 200)
      .map((r) => r.body)
      .join(' '),
  );
  const ready = await answered(app.inject({ url: '/readyz' }));
  t.equal(ready === 'no answer' ? ready : ready.statusCode, 200, '/readyz still answers');
});

t.test("one's own password needs currentPassword whatever the role; another user's does not", async (t) => {
  const { app, headersFor } = await testApp(t);
  const login = (email: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  const patch = (id: number, role: Role, payload: Record<string, unknown>) =>
    app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: headersFor(role), payload });

  const bare = await patch(LOGINS.admin.id, 'admin', { password: 'an-admin-Passw0rd' });
  t.equal(bare.statusCode, 400, 'an admin changing their own password without currentPassword');
  t.equal(bare.json().code, 'CURRENT_PASSWORD_REQUIRED');
  t.equal(
    (await patch(LOGINS.admin.id, 'admin', { password: 'an-admin-Passw0rd', currentPassword: 'wrong' })).statusCode,
    403,
    'or with a wrong one',
  );
  t.equal((await login(LOGINS.admin.email, LOGINS.admin.password)).statusCode, 200, 'changes nothing');
  const keeper = await patch(LOGINS.storekeeper.id, 'storekeeper', { password: 'a-keeper-Passw0rd' });
  t.equal(keeper.statusCode, 400, 'the same for any other role');
  t.equal(keeper.json().code, 'CURRENT_PASSWORD_REQUIRED');

  const own = await patch(LOGINS.admin.id, 'admin', { password: 'an-admin-Passw0rd', currentPassword: LOGINS.admin.password });
  t.equal(own.statusCode, 200, 'with the right currentPassword');
  const again = await login(LOGINS.admin.email, 'an-admin-Passw0rd');
  t.equal(again.statusCode, 200);
  t.equal((await patch(LOGINS.boss.id, 'admin', { name: 'Марія' })).statusCode, 401, "the change ended the admin's sessions");
  const other = await app.inject({
    method: 'PATCH',
    url: `/api/v1/users/${LOGINS.boss.id}`,
    headers: { authorization: `Bearer ${again.json().accessToken}` },
    payload: { password: 'set-by-admin-Passw0rd' },
  });
  t.equal(other.statusCode, 200, "an admin sets another user's password without it");
  t.equal((await login(LOGINS.boss.email, 'set-by-admin-Passw0rd')).statusCode, 200);
});
