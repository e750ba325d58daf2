/**
 * The real server process: on PGlite in a fresh directory (a laptop with nothing installed), and
 * on PostgreSQL holding the legacy database, alone or three at once; then a graceful shutdown.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { APPLIED_WHOLE_CHAIN, CHAIN } from '../helpers/commands.js';
import { connect, legacyTemplate, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { outputOnceItSays, startServer, type ServerProcess } from '../helpers/server.js';

const getJson = async (server: ServerProcess, path: string, init?: RequestInit) => {
  const res = await fetch(server.url(path), init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const login = (server: ServerProcess, email: string, password: string) =>
  getJson(server, '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });

t.test('npm start on PGlite in an empty directory, then SIGTERM with a slow request in flight', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bo-start-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startServer({ DATABASE_URL: '', PGLITE_DATA_DIR: dataDir, NODE_ENV: 'development', SHUTDOWN_DELAY: '1' });
  t.teardown(() => server.child.kill('SIGKILL'));
  t.match(server.output(), new RegExp(`database: PGlite in ${dataDir}`), 'says which database it uses');
  t.equal((await getJson(server, '/livez')).status, 200);
  t.same(await getJson(server, '/readyz'), { status: 200, body: { status: 'ok' } });
  const generated = (await outputOnceItSays(server, /First admin created/)).match(/First admin created: (\S+) with password (\S+)/);
  t.ok(generated, 'a first admin with a generated password, printed once');
  const session = await login(server, generated![1]!, generated![2]!);
  t.equal(session.status, 200, 'the first admin logs in');
  const auth = { authorization: `Bearer ${session.body.accessToken as string}` };
  const self = await getJson(server, `/api/v1/users/${(session.body.user as { id: number }).id}`, { headers: auth });
  t.equal(self.body.email, generated![1], 'reads a row on PGlite');
  const refreshed = await getJson(server, '/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: session.body.refreshToken }),
  });
  t.equal(refreshed.status, 200, 'and rotates a refresh token');

  // a slow client: the request's body is still arriving when SIGTERM comes
  const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(server.url('/api/v1/auth/login'), { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.write(`{"email": "${generated![1]}", `);
    setTimeout(() => req.end(`"password": "${generated![2]}"}`), 700);
  });
  await new Promise((r) => setTimeout(r, 200));
  server.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  const draining = await getJson(server, '/readyz');
  t.equal(draining.status, 503, '/readyz is 503 during the drain');
  t.equal((await getJson(server, '/livez')).status, 200, '/livez still 200');
  const finished = await slow;
  t.equal(finished.status, 200, 'the request in flight completes');
  t.equal(await server.exited, 0, 'exit code 0');

  const again = await startServer({ DATABASE_URL: '', PGLITE_DATA_DIR: dataDir, NODE_ENV: 'development' });
  t.teardown(() => again.child.kill('SIGKILL'));
  t.match(
    again.output(),
    /^Database: PGlite in \S+\. Nothing to apply: the database is up to date\.$/m,
    'the second start says in one line that its database is ready',
  );
  t.notMatch(again.output(), /rows before/, 'and prints no table of rows');
  t.notMatch(again.output(), /First admin created/, 'and never touches an existing user');
  t.equal((await login(again, generated![1]!, generated![2]!)).status, 200);
  again.child.kill('SIGINT');
  t.equal(await again.exited, 0);
});

t.test('three servers started at once on one legacy PostgreSQL database', async (t) => {
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);
  const servers = await Promise.all([1, 2, 3].map(() => startServer({ DATABASE_URL: db.url, NODE_ENV: 'production' })));
  t.teardown(() => servers.forEach((s) => s.child.kill('SIGKILL')));
  t.equal(servers.filter((s) => APPLIED_WHOLE_CHAIN.test(s.output())).length, 1, 'one applies the chain');
  t.equal(servers.filter((s) => /Nothing to apply/.test(s.output())).length, 2, 'the others find it applied');
  t.equal(servers.filter((s) => /rows before/.test(s.output())).length, 1, 'only the one that applied prints the rows table');
  for (const server of servers) {
    t.equal((await getJson(server, '/readyz')).status, 200, `:${server.port} is ready`);
    t.equal((await login(server, 'keeper@nk-food.shop', 'keeper-Passw0rd!')).status, 200, `:${server.port} serves the legacy users`);
  }
  t.notMatch(servers.map((s) => s.output()).join(''), /First admin created/, 'a database with users gets no extra admin');
  const sql = connect(db.url);
  t.teardown(() => sql.end());
  t.same(await sql`select count(*)::int as n from drizzle.__drizzle_migrations`, [{ n: CHAIN.length }]);
  t.same(await sql`select count(*)::int as n from orders`, [{ n: 800 }]);
  for (const server of servers) server.child.kill('SIGTERM');
  t.same(await Promise.all(servers.map((s) => s.exited)), [0, 0, 0], 'all stop cleanly');
});

t.test('a start that finds nothing to migrate reads no table of the data', async (t) => {
  const db = await scratchDatabase(await migratedTemplate());
  t.teardown(db.drop);
  const sql = connect(db.url);
  t.teardown(() => sql.end());
  // the migrator's session has ended once the server listens, and a session flushes its statistics as it ends
  const scans = async () =>
    sql`select relname, seq_scan, coalesce(idx_scan, 0) as idx_scan from pg_stat_user_tables
         where relname in ('orders', 'order_history', 'products') order by relname`;
  const before = await scans();
  t.equal(before.length, 3);
  const server = await startServer({ DATABASE_URL: db.url, NODE_ENV: 'production' });
  t.teardown(() => server.child.kill('SIGKILL'));
  t.match(server.output(), /^Database: PostgreSQL \(\S+\)\. Nothing to apply: the database is up to date\.$/m, 'one line');
  t.equal((await getJson(server, '/readyz')).status, 200);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
  t.same(await scans(), before, 'no scan of orders, order_history or products: their rows were not counted');
});

t.test('production without an admin password: the empty database gets no admin, and the log says how', async (t) => {
  const db = await scratchDatabase();
  t.teardown(db.drop);
  const server = await startServer({ DATABASE_URL: db.url, NODE_ENV: 'production' });
  t.teardown(() => server.child.kill('SIGKILL'));
  t.match(await outputOnceItSays(server, /set ADMIN_EMAIL and ADMIN_PASSWORD/), /set ADMIN_EMAIL and ADMIN_PASSWORD/);
  server.child.kill('SIGTERM');
  await server.exited;
  const withAdmin = await startServer({
    DATABASE_URL: db.url,
    NODE_ENV: 'production',
    ADMIN_EMAIL: 'Owner@NK-food.shop',
    ADMIN_PASSWORD: 'owner-Passw0rd!',
  });
  t.teardown(() => withAdmin.child.kill('SIGKILL'));
  const firstAdmin = /First admin created: owner@nk-food.shop \(password from ADMIN_PASSWORD\)/;
  t.match(await outputOnceItSays(withAdmin, firstAdmin), firstAdmin);
  t.notMatch(withAdmin.output(), /owner-Passw0rd!/, 'a given password is never printed');
  t.equal((await login(withAdmin, 'owner@nk-food.shop', 'owner-Passw0rd!')).status, 200);
  withAdmin.child.kill('SIGTERM');
  t.equal(await withAdmin.exited, 0);
});
