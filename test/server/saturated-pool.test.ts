/**
 * A pool taken by slow requests (issue 21): each request's statements end at STATEMENT_TIMEOUT with
 * a 503 naming it, /readyz says "busy" at once instead of waiting its turn, and a /metrics scrape
 * answers without the database. The slow requests here wait for row locks another session holds.
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { connect } from '../helpers/databases.js';

t.test('slow requests take every connection', async (t) => {
  const { app, db, headersFor } = await testApp(t, { statementTimeout: 2, metricsPort: 0, host: '127.0.0.1' });
  const admin = { ...headersFor('admin'), 'content-type': 'application/json' };
  const pool = app.database.pool!;
  const locker = connect(db.url);
  t.teardown(() => locker.end({ timeout: 1 }));

  const metricsUrl = () => `http://127.0.0.1:${app.metrics.address()!.port}/metrics`;
  await app.ready();
  // the migrations as a scrape before the fault saw them (each scrape reports the previous check)
  for (let i = 0; i < 50 && !/backoffice_migrations\{state="pending"\} 0/.test(await (await fetch(metricsUrl())).text()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }

  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked: () => void = () => {};
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const holding = locker.begin(async (tx) => {
    await tx`select id from products for update`;
    locked();
    await released;
  });
  await lockTaken;
  // bounded: without a statement timeout the slow requests would wait for this release
  const bound = setTimeout(() => release(), 15_000);
  t.teardown(() => clearTimeout(bound));

  const started = Date.now();
  const slow = Array.from({ length: pool.max * 2 }, (_, i) =>
    app.inject({ method: 'PATCH', url: `/api/v1/products/${(i % 5) + 1}`, headers: admin, payload: { name: `slow ${i}` } }),
  );
  for (let i = 0; i < 100 && pool.inFlight < pool.max; i++) await new Promise((r) => setTimeout(r, 20));
  t.ok(pool.inFlight >= pool.max, `the pool is taken (${pool.inFlight} in flight for ${pool.max} connections)`);

  const asked = Date.now();
  const ready = await app.inject({ url: '/readyz' });
  t.ok(Date.now() - asked < 1500, '/readyz answers within its bound, not after the slow requests');
  t.equal(ready.statusCode, 503, '/readyz: 503');
  t.equal(ready.json().status, 'busy');
  t.match(ready.json().reason, /did not answer within 800 ms \(\d+ queries in flight for 10 connections\)/);
  t.equal((await app.inject({ url: '/livez' })).statusCode, 200, '/livez: 200');

  const scrape = await fetch(metricsUrl(), { signal: AbortSignal.timeout(1500) });
  t.equal(scrape.status, 200, '/metrics answers while the pool is taken (it never waits on the database)');
  const text = await scrape.text();
  t.match(text, /backoffice_db_pool_connections\{state="waiting"\} [1-9]/, 'and shows the queue');
  t.match(text, /backoffice_migrations\{state="pending"\} 0/, 'with the migrations as last seen');

  const answers = await Promise.all(slow);
  const elapsed = Date.now() - started;
  release();
  t.ok(elapsed < 15_000, 'they ended by their statement timeout, not by the release of the lock');
  await holding;
  const timedOut = answers.filter((a) => a.statusCode === 503 && a.json().code === 'STATEMENT_TIMEOUT');
  t.equal(timedOut.length, answers.length, 'every slow request: 503 STATEMENT_TIMEOUT');
  t.equal(answers[0]!.headers['retry-after'], '5', 'with Retry-After');
  t.match(answers[0]!.json().message, /statement timeout/);
  t.comment(`${answers.length} slow requests on ${pool.max} connections answered within ${elapsed} ms (statement timeout 2 s)`);
  const after = await app.inject({ url: '/api/v1/products/1', headers: admin });
  t.equal(after.statusCode, 200, 'the pool serves again');
  t.notMatch(after.json().name, /^slow/, 'no timed-out change was stored');
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'ready again');
});
