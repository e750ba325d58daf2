/**
 * PostgreSQL restarts and killed backends while clients write (issue 21): the service process stays
 * up, answers again once the database is back, every acknowledged write is in the database, and a
 * write answered 503 changed nothing. On a private cluster of the test's own, never the shared one.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { connect } from '../helpers/databases.js';
import { startPrivatePostgres } from '../helpers/private-postgres.js';
import { startServer } from '../helpers/server.js';

const WRITERS = 8;
const ADMIN = { email: 'failover@backoffice.local', password: 'failover-Passw0rd!' };

t.test('writes under load while PostgreSQL restarts and its backends are killed', async (t) => {
  const pg = await startPrivatePostgres();
  t.teardown(() => pg.destroy());
  const server = await startServer({
    DATABASE_URL: pg.url(),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'error',
  });
  t.teardown(() => server.child.kill('SIGKILL'));
  const admin = connect(pg.url());
  t.teardown(() => admin.end({ timeout: 1 }));

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(server.url(path), {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    }).catch((error: unknown) => ({ status: 0, error }));
    if (!('json' in res)) return { status: 0, body: {} as Record<string, unknown> };
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const login = await call('POST', '/api/v1/auth/login', ADMIN);
  t.equal(login.status, 200, 'the first admin logs in');
  const token = login.body.accessToken as string;
  const ids: string[] = [];
  for (let i = 0; i < WRITERS; i++) {
    const id = String(910_000 + i);
    const created = await call(
      'POST',
      '/api/v1/orders',
      { id, externalId: `fo-${i}`, orderNumber: `fo-${i}`, quantity: 1, status: '1', items: [] },
      token,
    );
    t.equal(created.status, 201, `order ${id} created`);
    ids.push(id);
  }

  const historyOf = async (id: string) =>
    (await admin<{ n: number }[]>`select count(*)::int as n from order_history where order_id = ${id} and source = 'manual'`)[0]!.n;
  const historyBefore = await Promise.all(ids.map(historyOf));

  // each writer PATCHes its own order in turn: the status flips from the one last acknowledged (so
  // each success appends a history row, in the same transaction) and ttn carries the attempt's number
  let writing = true;
  const outcomes = ids.map(() => ({ ok: 0, lastOk: '', unavailable: 0, unknown: 0, other: [] as string[] }));
  const writers = ids.map(async (id, w) => {
    const seen = outcomes[w]!;
    let status = '1';
    for (let n = 1; writing && n < 100_000; n++) {
      const ttn = `w${w}-${n}`;
      const next = status === '1' ? '2' : '1';
      const res = await call('PATCH', `/api/v1/orders/${id}`, { status: next, ttn }, token);
      if (res.status === 503) seen.unavailable++;
      else if (res.status === 504 && res.body.code === 'OUTCOME_UNKNOWN') {
        // the service could not learn whether it committed: read the order to know
        seen.unknown++;
        for (let attempt = 0; attempt < 150; attempt++) {
          const read = await call('GET', `/api/v1/orders/${id}`, undefined, token);
          if (read.status === 200) {
            if (read.body.ttn === ttn) res.status = 200;
            break;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      } else if (res.status !== 200) {
        seen.other.push(`${res.status} ${String(res.body.code)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (res.status === 200) {
        seen.ok++;
        seen.lastOk = ttn;
        status = next;
      }
    }
  });

  const acknowledged = () => outcomes.reduce((sum, o) => sum + o.ok, 0);
  /** Until writes are acknowledged again after the fault (bounded: 60 s), then a second of them in flight. */
  const acknowledgedAgain = async () => {
    const before = acknowledged();
    for (const started = Date.now(); Date.now() - started < 60_000;) {
      await new Promise((r) => setTimeout(r, 100));
      if (acknowledged() > before + WRITERS) {
        const steady = acknowledged();
        await new Promise((r) => setTimeout(r, 1000));
        t.comment(`${acknowledged() - steady} writes acknowledged in the second before the next fault`);
        return true;
      }
    }
    return false;
  };
  const faults: [string, () => Promise<unknown>][] = [
    ['a fast restart', () => pg.restart('fast')],
    ['an immediate restart (a crash)', () => pg.restart('immediate')],
    [
      'pg_terminate_backend of the service',
      () => admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'backoffice-api%'`,
    ],
    ['a second fast restart', () => pg.restart('fast')],
  ];
  // the faults strike while every writer is inside its transaction, waiting for the row lock that
  // another session holds (a busy order): the transactions' connections die mid-statement
  // (psql holds it, in a process of its own: the test's own driver stays out of the fault)
  const whileLocked = async (fault: () => Promise<unknown>) => {
    const locker = spawn('psql', ['-At', '-f', '-', pg.url()], { stdio: ['pipe', 'pipe', 'ignore'] });
    const orderIds = ids.map((id) => `'${id}'`).join(', ');
    locker.stdin.end(
      `begin;\nselect count(*) from (select id from orders where id in (${orderIds}) for update) locked;\nselect pg_sleep(3);\ncommit;\n`,
    );
    const held = new Promise((resolve) => locker.on('close', resolve));
    await new Promise((resolve) => locker.stdout.once('data', resolve));
    await new Promise((r) => setTimeout(r, 300));
    await fault();
    await held;
  };
  t.ok(await acknowledgedAgain(), 'writes go through before any fault');
  for (const [what, fault] of faults) {
    await whileLocked(fault);
    t.ok(await acknowledgedAgain(), `writes are acknowledged again after ${what}`);
    t.equal(server.child.exitCode, null, `the process is still up after ${what}`);
  }
  writing = false;
  await Promise.all(writers);

  t.equal(server.child.exitCode, null, 'the service never exited');
  t.notMatch(server.output(), /TypeError|uncaught/i, 'no uncaught exception in its output');
  t.equal((await call('GET', '/livez')).status, 200);
  t.equal((await call('GET', '/readyz')).status, 200, 'ready again');
  const unavailable = outcomes.reduce((sum, o) => sum + o.unavailable, 0);
  t.ok(unavailable > 0, `the faults were felt: ${unavailable} writes answered 503`);
  t.same(
    outcomes.flatMap((o) => o.other),
    [],
    'no answer but 200, 503 and 504 OUTCOME_UNKNOWN',
  );

  for (const [w, id] of ids.entries()) {
    const seen = outcomes[w]!;
    const [order] = await admin<{ ttn: string }[]>`select ttn from orders where id = ${id}`;
    t.equal(order!.ttn, seen.lastOk, `order ${id}: the last acknowledged write is the one in the database`);
    // one history row per acknowledged write: none for a write answered 503
    t.equal(
      (await historyOf(id)) - historyBefore[w]!,
      seen.ok,
      `order ${id}: one history row per acknowledged write (${seen.ok}; ${seen.unavailable} answered 503)`,
    );
  }
  t.comment(
    `writes: ${outcomes.reduce((s, o) => s + o.ok, 0)} acknowledged, ${unavailable} answered 503, ${outcomes.reduce((s, o) => s + o.unknown, 0)} answered 504 OUTCOME_UNKNOWN`,
  );
});
