/**
 * Prometheus metrics, read as Prometheus reads them: GET /metrics on METRICS_PORT, over HTTP. The
 * API port never serves them.
 */
import { sql as drizzleSql } from 'drizzle-orm';
import t from 'tap';
import { LOGINS, testApp } from '../helpers/app.js';
import { CHAIN } from '../helpers/commands.js';
import { migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';

/** Every sample of the text format: `name{labels} value`, keyed by name and labels as written. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

t.test('the app on a metrics port: requests, logins, refresh-token reuse, migrations, pool, process', async (t) => {
  const { app, headersFor } = await testApp(t, { metricsPort: 0, host: '127.0.0.1', refreshReuseGrace: 0, loginRateLimit: 2 });
  await app.ready();
  const url = `http://127.0.0.1:${app.metrics.address()!.port}/metrics`;
  const post = (path: string, payload: object) => app.inject({ method: 'POST', url: `/api/v1${path}`, payload });

  t.equal((await post('/auth/login', { email: LOGINS.admin.email, password: LOGINS.admin.password })).statusCode, 200);
  for (const expected of [401, 401, 429]) {
    t.equal((await post('/auth/login', { email: LOGINS.boss.email, password: 'wrong-Passw0rd!' })).statusCode, expected);
  }
  t.equal((await post('/auth/login', { email: 'x' })).statusCode, 400, 'an invalid body is no login attempt');
  const first = (await post('/auth/login', { email: LOGINS.storekeeper.email, password: LOGINS.storekeeper.password })).json();
  t.equal((await post('/auth/refresh', { refreshToken: first.refreshToken })).statusCode, 200);
  t.equal((await post('/auth/refresh', { refreshToken: first.refreshToken })).statusCode, 401, 'the rotated token, replayed');
  for (let i = 0; i < 3; i++) {
    t.equal((await app.inject({ url: '/api/v1/orders?limit=1', headers: headersFor('admin') })).statusCode, 200);
  }
  t.equal((await app.inject({ url: '/api/v1/orders/none-such', headers: headersFor('admin') })).statusCode, 404);
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 404, 'the API port has no /metrics');

  const m = await scrape(url);
  t.equal(m.get('backoffice_logins_total{outcome="success"}'), 2);
  t.equal(m.get('backoffice_logins_total{outcome="failure"}'), 2);
  t.equal(m.get('backoffice_logins_total{outcome="rate_limited"}'), 1);
  t.equal(m.get('backoffice_refresh_token_reuse_detections_total'), 1);
  t.equal(m.get('http_request_duration_seconds_count{method="GET",route="/api/v1/orders",status_code="200"}'), 3, 'by route pattern');
  t.equal(m.get('http_request_duration_seconds_count{method="GET",route="/api/v1/orders/:id",status_code="404"}'), 1, 'and status');
  t.equal(m.get('http_request_duration_seconds_count{method="POST",route="/api/v1/auth/login",status_code="429"}'), 1);
  t.ok(m.get('http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/v1/orders",status_code="200"}') === 3, 'a histogram');
  t.notOk(
    [...m.keys()].some((k) => k.includes('route="/metrics"')),
    'the API-port 404 names no route',
  );
  t.equal(m.get('backoffice_migrations{state="applied"}'), CHAIN.length);
  t.equal(m.get('backoffice_migrations{state="pending"}'), 0);
  t.equal(m.get('backoffice_db_pool_max'), 10);
  t.equal(m.get('backoffice_db_pool_connections{state="in_use"}'), 0, 'idle between requests');
  t.equal(m.get('backoffice_db_pool_connections{state="idle"}'), 10);
  for (const name of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    t.ok(m.has(name), name);
  }

  // 14 queries of half a second at once on a pool of 10: 10 connections busy, 4 queries waiting
  const slow = Promise.all(Array.from({ length: 14 }, () => app.db.execute(drizzleSql`select pg_sleep(0.5)`)));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const busy = await scrape(url);
  await slow;
  t.equal(busy.get('backoffice_db_pool_connections{state="in_use"}'), 10);
  t.equal(busy.get('backoffice_db_pool_connections{state="idle"}'), 0);
  t.equal(busy.get('backoffice_db_pool_connections{state="waiting"}'), 4);
  t.equal((await scrape(url)).get('backoffice_db_pool_connections{state="in_use"}'), 0, 'released');

  const other = await fetch(url.replace('/metrics', '/api/v1/orders'));
  t.equal(other.status, 404, 'the metrics port serves nothing else');
});

t.test('the server: METRICS_PORT serves the metrics, PORT does not', async (t) => {
  const db = await scratchDatabase(await migratedTemplate());
  t.teardown(db.drop);
  const server = await startServer({ DATABASE_URL: db.url, NODE_ENV: 'production' });
  t.teardown(() => server.child.kill('SIGKILL'));
  const metricsUrl = /metrics: (http:\/\/\S+\/metrics)/.exec(server.output())?.[1];
  t.ok(metricsUrl, 'the start line names the metrics URL');
  t.not(new URL(metricsUrl!).port, String(server.port), 'on its own port');
  t.equal((await fetch(server.url('/readyz'))).status, 200);
  const m = await scrape(metricsUrl!);
  t.equal(m.get('http_request_duration_seconds_count{method="GET",route="/readyz",status_code="200"}'), 1);
  t.equal((await fetch(server.url('/metrics'))).status, 404, 'nothing on the API port');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'stops cleanly, metrics server included');
});
