/**
 * `npm run user:reset-password -- <email>`: the way back from a lost password, on PostgreSQL and
 * on PGlite. A new password (generated and shown once, or from stdin) and the user's sessions ended.
 */
import t from 'tap';
import { buildApp, type App } from '../../src/app.js';
import { ensureFirstAdmin } from '../../src/migrate/first-admin.js';
import { runMigrations } from '../../src/migrate/migrator.js';
import { LOGINS, TEST_CONFIG, testApp } from '../helpers/app.js';
import { runScript } from '../helpers/commands.js';
import { pgliteFolder } from '../helpers/pglite.js';

/** The command as an operator types it (the first time through npm itself); `input` is what they pipe to it. */
let viaNpm = true;
function resetPassword(args: string[], env: Record<string, string>, input = '') {
  const result = runScript('user:reset-password', args, env, { input, viaNpm });
  viaNpm = false;
  return result;
}

const login = (app: App, email: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
const refresh = (app: App, refreshToken: string) => app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });

t.test('PostgreSQL: a generated password, shown once; the session ends', async (t) => {
  const { app, db } = await testApp(t);
  const session = (await login(app, LOGINS.admin.email, LOGINS.admin.password)).json();
  const result = await resetPassword(['ADMIN@nk-food.shop'], { DATABASE_URL: db.url });
  t.equal(result.code, 0, result.stderr);
  const shown = result.stdout.match(/^New password of admin@nk-food\.shop: (\S+) \(shown once\); their sessions are ended\.$/m);
  t.ok(shown, result.stdout);
  t.equal((await refresh(app, session.refreshToken)).statusCode, 401, 'the session is ended');
  t.equal((await login(app, LOGINS.admin.email, LOGINS.admin.password)).statusCode, 401, 'the old password no longer works');
  t.equal((await login(app, LOGINS.admin.email, shown![1]!)).statusCode, 200, 'the new one does');

  const piped = await resetPassword(['keeper@nk-food.shop', '--password-stdin'], { DATABASE_URL: db.url }, 'a-chosen-Passw0rd\n');
  t.equal(piped.code, 0, piped.stderr);
  t.equal(piped.stdout.trim(), 'Password of keeper@nk-food.shop set; their sessions are ended.', 'a password from stdin is not printed');
  t.equal((await login(app, 'keeper@nk-food.shop', 'a-chosen-Passw0rd')).statusCode, 200);

  const short = await resetPassword(['keeper@nk-food.shop', '--password-stdin'], { DATABASE_URL: db.url }, 'short\n');
  t.equal(short.code, 1);
  t.equal(short.stderr.trim(), 'The password must have 8 to 200 characters; nothing was changed.');
  const unknown = await resetPassword(['nobody@nk-food.shop'], { DATABASE_URL: db.url });
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^No user has the e-mail nobody@nk-food\.shop in PostgreSQL \(.*\); nothing was changed\.\n$/);
  const usage = await resetPassword([], { DATABASE_URL: db.url });
  t.equal(usage.code, 1);
  t.match(usage.stderr, /^Usage: npm run user:reset-password -- <email>/);
});

t.test('PGlite: the same command on the embedded database', async (t) => {
  const dataDir = await pgliteFolder(t, 'migrated');
  const admin = { email: 'admin@backoffice.local', password: 'lost-admin-Passw0rd' };
  await runMigrations(
    { dataDir },
    async () => undefined,
    (client) => ensureFirstAdmin(client, admin, false),
  );
  const result = await resetPassword([admin.email], { DATABASE_URL: '', PGLITE_DATA_DIR: dataDir });
  t.equal(result.code, 0, result.stderr);
  const shown = result.stdout.match(/New password of admin@backoffice\.local: (\S+) \(shown once\)/);
  t.ok(shown, result.stdout);
  const app = await buildApp({ database: { dataDir }, ...TEST_CONFIG });
  t.teardown(() => app.close());
  t.equal((await login(app, admin.email, admin.password)).statusCode, 401, 'the lost password no longer works');
  t.equal((await login(app, admin.email, shown![1]!)).statusCode, 200, 'the new one does');
});
