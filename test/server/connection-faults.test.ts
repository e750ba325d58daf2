/**
 * What a connection's failure leaves behind on it: nothing. postgres.js kept a result's next row
 * index, and the error a closing backend had sent, past the query they belonged to (patched in
 * patches/postgres+3.4.9.patch): after a query cut off between two of its rows, the reconnected
 * connection's first query failed with the old error and the next one got its rows after holes,
 * so that a token check found no user and answered 401 SESSION_ENDED (failover.test.ts met it
 * under load: a restart landing between a row and the end of its query). The database ends the
 * connection here itself, from the query, once its first row is sent.
 */
import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import { connect } from '../helpers/databases.js';

// one connection: whatever the cut query leaves behind, the next query meets
const { app, db, tokenFor } = await testApp(t, { statementTimeout: 1 }, { poolMax: 1 });
const cut = async (t: Test) => {
  const error = await app.database
    .query('select x from generate_series(1, 3) x where x = 1 or pg_terminate_backend(pg_backend_pid())')
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.match(error, { code: 'CONNECTION_CLOSED' }, 'the query was cut off by the end of its connection');
};

t.test('the next queries on the connection answer whole', async (t) => {
  await cut(t);
  for (let i = 1; i <= 3; i++) {
    const answer = await app.database.query(`select ${i} as n`).catch((error: Error) => `${error.name}: ${error.message}`);
    t.same(answer, [{ n: i }], `query ${i} after the cut: its own row, and no other`);
  }
});

t.test('a query failing after some of its rows: the next query on the connection answers whole', async (t) => {
  const failed = await app.database.query('select 1 / (2 - x) as q from generate_series(1, 3) x').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(failed, { code: '22012' }, 'division by zero in its second row');
  const answer = await app.database.query('select 7 as n').catch((error: Error) => `${error.name}: ${error.message}`);
  t.same(answer, [{ n: 7 }]);
});

t.test('token checks after the cut read their users: 200, not 401 SESSION_ENDED', async (t) => {
  await cut(t);
  // users not seen yet: the check reads each from the database
  for (const role of ['storekeeper', 'boss', 'shop-manager'] as const) {
    const res = await app.inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${tokenFor(role)}` } });
    t.equal(res.statusCode, 200, `${role}: ${res.statusCode} ${res.body}`);
  }
});

// postgres.js looks the array types up with the first statement of each new connection, and let
// that lookup's failure go unhandled: the service stopped ("stopping after an error", exit 1)
t.test('a new connection whose type lookup fails: that request 503, the process goes on', async (t) => {
  const unhandled: unknown[] = [];
  const note = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', note);
  t.teardown(() => void process.off('unhandledRejection', note));
  await cut(t);
  // the lookup waits for this lock until the statement timeout (1 s) cancels it
  const locker = connect(db.url);
  t.teardown(() => locker.end({ timeout: 1 }));
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked = () => {};
  const taken = new Promise<void>((resolve) => (locked = resolve));
  const holding = locker.begin(async (tx) => {
    await tx`lock table pg_catalog.pg_type in access exclusive mode`;
    locked();
    await held;
  });
  await taken;
  const asUser = { authorization: `Bearer ${tokenFor('ads-manager')}` };
  const timedOut = await app.inject({ url: '/api/v1/auth/me', headers: asUser });
  release();
  await holding;
  t.equal(timedOut.statusCode, 503, timedOut.body);
  t.equal(timedOut.json().code, 'STATEMENT_TIMEOUT');
  const after = await app.inject({ url: '/api/v1/auth/me', headers: asUser });
  t.equal(after.statusCode, 200, after.body);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(unhandled, [], 'no unhandled rejection');
});
