/** The embedded default: the same chain takes an empty PGlite database, and one holding the legacy backup, to the final schema. */
import { openPglite } from '../../src/db/client.js';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { LOGINS, TEST_CONFIG } from '../helpers/app.js';
import { APPLIED_WHOLE_CHAIN, dbMigrate, runScript } from '../helpers/commands.js';
import { connect, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { pgliteFolder } from '../helpers/pglite.js';
import { readSchema, type Query } from '../helpers/catalog.js';

const reference = await scratchDatabase(await migratedTemplate());
const sql = connect(reference.url);
const expected = await readSchema(sql);
t.teardown(async () => {
  await sql.end();
  await reference.drop();
});

async function withPglite<T>(dataDir: string, fn: (query: Query) => Promise<T>): Promise<T> {
  const pg = await openPglite(dataDir);
  try {
    return await fn(async (text) => (await pg.query<Record<string, unknown>>(text)).rows);
  } finally {
    await pg.close();
  }
}

t.test('an empty PGlite database reaches the final schema', async (t) => {
  const dataDir = await pgliteFolder(t);
  const result = await dbMigrate({ dataDir });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, new RegExp(`Migrating PGlite in ${dataDir}`));
  t.match(result.stdout, APPLIED_WHOLE_CHAIN);
  t.same(await withPglite(dataDir, readSchema), expected, 'the schema PostgreSQL ends with');
});

t.test(
  'a PGlite database holding the legacy backup is restructured without losing a row; rows that break a rule are named and fixed',
  async (t) => {
    const dataDir = await pgliteFolder(t, 'legacy');
    const pg = await openPglite(dataDir);
    await pg.exec(`update "User" set role = '' where id = 8; update "Order" set quantity = -1 where id = '100001'`);
    await pg.close();

    const result = await dbMigrate({ dataDir });
    t.equal(result.code, 0, result.stderr);
    t.match(result.stdout, /"Order" -> orders\s+800\s+800/);
    t.match(result.stdout, /"OrderHistory" -> order_history\s+2588\s+2588/);
    t.match(result.stdout, /refresh_tokens\s+58\s+-\s+dropped: 6 moved into users/);
    t.match(result.stdout, /users id=8 role='': users_role_check/);
    t.match(result.stdout, /orders id='100001' quantity=-1: orders_quantity_check/);
    t.match(result.stdout, /Every row is accounted for\./);

    const check = await runScript('db:check', [], { PGLITE_DATA_DIR: dataDir, DATABASE_URL: '' });
    t.equal(check.code, 1, check.stderr);
    t.match(check.stdout, /users id=8 role=''.*\n {2}UPDATE users SET role = 'user' WHERE id=8;/);
    t.match(check.stdout, /orders id='100001' quantity=-1.*\n {2}UPDATE orders SET quantity = 0 WHERE id='100001';/);
    await withPglite(dataDir, async (query) => {
      for (const fix of check.stdout.split('\n').filter((line) => /^ {2}UPDATE /.test(line))) await query(fix.trim());
    });
    const validated = await runScript('db:check', ['--validate'], { PGLITE_DATA_DIR: dataDir, DATABASE_URL: '' });
    t.equal(validated.code, 0, validated.stdout + validated.stderr);
    t.match(validated.stdout, /Validated \(no row breaks them any more\): .*orders\.orders_quantity_check/);
    t.same(await withPglite(dataDir, readSchema), expected, 'fixed and validated: the schema PostgreSQL ends with');

    const again = await dbMigrate({ dataDir });
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /Nothing to apply/);
  },
);

t.test('the service on PGlite: login limits counted in its database; a logout refuses the access token at once', async (t) => {
  const dataDir = await pgliteFolder(t, 'legacy-migrated');
  t.equal((await dbMigrate({ dataDir })).code, 0);
  const app = await buildApp({ ...TEST_CONFIG, loginRateLimit: 3, database: { dataDir } });
  t.teardown(() => app.close());
  const login = (password: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: LOGINS.boss.email, password } });
  const session = (await login(LOGINS.boss.password)).json();
  const auth = { authorization: `Bearer ${session.accessToken}` };
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: auth })).statusCode, 200);
  // the orders search runs on PGlite's pg_trgm too (loaded by openPglite), ignoring case
  const [{ n: named } = { n: 0 }] = await app.database.query<{ n: number }>(
    `select count(*)::int as n from orders where customer_name ilike '%шевчук%'`,
  );
  const searched = await app.inject({ url: `/api/v1/orders/counts?q=${encodeURIComponent('ШЕВЧУК')}`, headers: auth });
  t.equal(searched.statusCode, 200, searched.body);
  t.ok(named > 0 && searched.json().total === named, `q finds the ${named} orders of that name`);
  const [{ used } = { used: false }] = await app.database.query<{ used: boolean }>(
    `select count(*) = 1 as used from pg_extension where extname = 'pg_trgm'`,
  );
  t.ok(used, 'pg_trgm is installed in PGlite');
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: auth })).statusCode, 204);
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: auth })).statusCode, 401, 'the logged-out token is refused');
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await login('wrong')).statusCode);
  t.same(codes, [401, 401, 429], 'the fourth attempt for the e-mail (the login was the first): 429');
  const [counted] = await app.database.query<{ hits: number }>(
    `select hits from rate_limits where key = 'login-email:${LOGINS.boss.email}'`,
  );
  t.equal(Number(counted?.hits), 4, 'counted in rate_limits');
});
