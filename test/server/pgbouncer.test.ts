/**
 * The real server behind a real PgBouncer in transaction mode (DATABASE_TRANSACTION_POOLER=true),
 * migrating over DIRECT_DATABASE_URL, under concurrent load: no error.
 */
import t from 'tap';
import { APPLIED_WHOLE_CHAIN } from '../helpers/commands.js';
import { connect, legacyTemplate, scratchDatabase } from '../helpers/databases.js';
import { PGBOUNCER, startPgBouncer } from '../helpers/pgbouncer.js';
import { startServer, type ServerProcess } from '../helpers/server.js';

t.ok(PGBOUNCER, 'pgbouncer is installed (apt-get install -y pgbouncer; bash .ci/run installs it)');

const json = { 'content-type': 'application/json' };
/** A request that has not answered in 30 s counts as failed (status 0), not as a hung test. */
const timeout = () => AbortSignal.timeout(30_000);
const post = (server: ServerProcess, path: string, body: object) =>
  fetch(server.url(path), { method: 'POST', headers: json, body: JSON.stringify(body), signal: timeout() });

/** Runs `tasks` with at most `concurrency` at once; each resolves to a status (0: the connection failed). */
async function pool<S>(tasks: (() => Promise<S | number>)[], concurrency: number): Promise<(S | number)[]> {
  const statuses: (S | number)[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      statuses.push(await task().catch((error: unknown) => (console.error(String(error)), 0)));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

t.test('through PgBouncer in transaction mode: migrate directly, then 640 concurrent requests without an error', async (t) => {
  const bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 4 });
  t.teardown(bouncer.stop);
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);

  const server = await startServer({
    DATABASE_URL: bouncer.urlFor(db.name),
    DIRECT_DATABASE_URL: db.url,
    DATABASE_TRANSACTION_POOLER: 'true',
    NODE_ENV: 'production',
    LOG_LEVEL: 'error',
    LOGIN_RATE_LIMIT: '10000',
    LOGIN_RATE_LIMIT_PER_CLIENT: '10000',
  });
  t.teardown(() => server.child.kill('SIGKILL'));
  t.match(server.output(), APPLIED_WHOLE_CHAIN, 'the migrator applied the chain (over the direct URL: its session lock)');

  const admin = (await (await post(server, '/api/v1/auth/login', { email: 'admin@nk-food.shop', password: 'admin-Passw0rd!' })).json()) as {
    accessToken: string;
  };
  const auth = { authorization: `Bearer ${admin.accessToken}` };
  const sql = connect(db.url);
  t.teardown(() => sql.end());
  const ids = (await sql<{ id: string }[]>`select id from orders order by id limit 40`).map((r) => r.id);
  const sessions = await Promise.all(
    ['keeper@nk-food.shop', 'manager@nk-food.shop', 'boss@nk-food.shop', 'user2@nk-food.shop'].map(async (email, i) => {
      const response = await post(server, '/api/v1/auth/login', {
        email,
        password: i === 0 ? 'keeper-Passw0rd!' : { 1: 'manager-Passw0rd!', 2: 'boss-Passw0rd!', 3: 'keeper-Passw0rd!' }[i]!,
      });
      t.equal(response.status, 200, `${email} logs in`);
      return { token: ((await response.json()) as { refreshToken: string }).refreshToken };
    }),
  );

  // each session's refreshes in turn (a token rotates), the rest all at once: reads, lists, writes
  const refreshes = sessions.map((session) => async () => {
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const response = await post(server, '/api/v1/auth/refresh', { refreshToken: session.token });
      last = response.status;
      if (response.status !== 200) return last;
      session.token = ((await response.json()) as { refreshToken: string }).refreshToken; // the prepared compare-and-swap
    }
    return last;
  });
  // /readyz answers 503 "busy" when the database has not answered its query within 800 ms: the
  // honest answer on a machine saturated by other test files, so counted apart (never an error)
  const requests: (() => Promise<number | 'busy'>)[] = [];
  for (let i = 0; i < 600; i++) {
    const id = ids[i % ids.length]!;
    const kind = i % 5;
    requests.push(async () => {
      const response =
        kind === 0
          ? await fetch(server.url(`/api/v1/orders?limit=20&status=${(i % 7) + 1}`), { headers: auth, signal: timeout() })
          : kind === 1
            ? await fetch(server.url(`/api/v1/orders/${encodeURIComponent(id)}`), { headers: auth, signal: timeout() })
            : kind === 2
              ? await fetch(server.url(`/api/v1/orders/${encodeURIComponent(id)}`), {
                  method: 'PATCH',
                  signal: timeout(),
                  headers: { ...auth, ...json },
                  body: JSON.stringify({ status: String((i % 7) + 1) }), // a status change also appends history, in one transaction
                })
              : kind === 3
                ? await fetch(server.url(`/api/v1/products?limit=10&q=${'abcdefg'[i % 7]}`), { headers: auth, signal: timeout() })
                : await fetch(server.url('/readyz'), { signal: timeout() });
      const body = await response.text();
      if (kind === 4 && response.status === 503 && (JSON.parse(body) as { status?: string }).status === 'busy') return 'busy';
      if (response.status !== 200) console.error(`kind ${kind}: ${response.status}`);
      return response.status;
    });
  }
  const statuses = await pool<'busy'>([...refreshes, ...requests], 32);
  const { busy = 0, ...counts } = statuses.reduce<Record<string, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {});
  t.comment(`/readyz said busy ${busy} time(s) of 120`);
  if (!t.same(counts, { 200: 604 - busy }, '604 tasks (640 requests) answered 200 (or, /readyz, busy): no 500, no dropped connection')) {
    console.error(`pgbouncer:\n${bouncer.output().slice(-3000)}\nserver:\n${server.output().slice(-3000)}`);
  }
  t.notMatch(server.output(), /prepared statement|error/i, 'the server logged no error');

  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('the migrator uses DIRECT_DATABASE_URL when it is set', async (t) => {
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);
  const direct = new URL(db.url);
  direct.pathname = `/${db.name}_no_such`;
  const failed = startServer({ DATABASE_URL: db.url, DIRECT_DATABASE_URL: direct.href, NODE_ENV: 'production' });
  await t.rejects(failed, /no_such" does not exist[\s\S]*The service does not start/, 'it migrated (tried to) there, not on DATABASE_URL');
});
