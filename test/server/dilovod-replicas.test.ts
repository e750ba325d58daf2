/**
 * The catalogue sync with two replicas on one database (each its own pg-boss and Dilovod client) and
 * a replica stopped, or killed, mid-run: one run at a time across both (Dilovod sees one call at a
 * time), requests made together join one run, and a run interrupted anywhere changes no product and
 * is recorded as failed; the next run completes.
 */
import t from 'tap';
import { buildApp, type App } from '../../src/app.js';
import { giveTestSessions, LOGINS, TEST_CONFIG, testSessionId } from '../helpers/app.js';
import { connect, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { dilovodConfig, dilovodStandIn, runEnded, syncRun, type Run } from '../helpers/dilovod.js';

const dilovod = await dilovodStandIn();
t.teardown(() => dilovod.close());
const db = await scratchDatabase(await migratedTemplate());
const sql = connect(db.url);
await giveTestSessions(sql);
t.teardown(async () => {
  await sql.end();
  await db.drop();
});

// A call to Dilovod times out after 60 s here, not dilovodConfig's 1 s: on a starved CPU a call
// the stand-in answers in 100 ms could take over a second, and its retry would reach the stand-in
// while it still worked on the abandoned call ("two calls at once", seen under three CPU hogs); a
// call hanging until its replica stops must not time out first however long the other takes to start.
const replica = async () => {
  const app = await buildApp({ database: { url: db.url }, ...TEST_CONFIG, dilovod: { ...dilovodConfig(dilovod.url), timeout: 60 } });
  await app.ready();
  return app;
};
const headersOn = (app: App) => ({
  authorization: `Bearer ${app.signAccessToken({ id: LOGINS.admin.id, role: 'admin', sessionId: testSessionId(LOGINS.admin.id), version: 0 })}`,
});
const catalogue = () => sql`select * from products order by id`;

t.test('two replicas: requests made together join one run; runs one at a time; Dilovod sees one call at a time', async (t) => {
  const [a, b] = [await replica(), await replica()];
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  dilovod.mode = 'slow';
  dilovod.delay = 100;
  dilovod.maxConcurrent = 0;
  const started = await Promise.all(
    [a, b, a, b].map((app) => app.inject({ method: 'POST', url: '/api/v1/products/sync', headers: headersOn(app) })),
  );
  t.ok(
    started.every((res) => res.statusCode === 202),
    `each answered 202 at once: ${started.map((res) => `${res.statusCode} ${res.body}`).join('; ')}`,
  );
  const ids = [...new Set(started.map((res) => res.json<Run>().id))];
  t.ok(ids.length <= 2, `four requests, ${ids.length} run(s): one waiting is joined, not doubled`);
  const runs = await Promise.all(ids.map((id) => runEnded(a, headersOn(a), id)));
  t.same(
    runs.map((run) => run.state),
    ids.map(() => 'succeeded'),
  );
  t.equal(dilovod.maxConcurrent, 1, 'never two calls at once, across both replicas');
  const overlapping = await sql`
    select count(*)::int as n from catalogue_sync_runs r1 join catalogue_sync_runs r2
        on r1.id < r2.id and r1.started_at < r2.finished_at and r2.started_at < r1.finished_at`;
  t.same(overlapping, [{ n: 0 }], 'no two runs overlapped');
  dilovod.mode = 'up';
});

t.test('a replica stopped mid-run: the run is failed, nothing applied; the other replica’s next run completes', async (t) => {
  const a = await replica();
  await sql`update products set barcode = null, name = name || ' (before)'`;
  const before = await catalogue();
  dilovod.mode = 'hang';
  const started = await a.inject({ method: 'POST', url: '/api/v1/products/sync', headers: headersOn(a) });
  t.equal(started.statusCode, 202);
  await dilovod.hanging; // the run is reading Dilovod's prices
  // the other replica starts only now: a run goes to whichever replica's worker asks the queue
  // first, and this one is to be a's
  const b = await replica();
  t.teardown(() => b.close());
  const [running] = await sql`select state from catalogue_sync_runs where id = ${started.json<Run>().id}`;
  t.equal(running!.state, 'running');
  const closing = a.close();
  dilovod.release();
  await closing;
  dilovod.mode = 'up';
  const interrupted = await runEnded(b, headersOn(b), started.json<Run>().id);
  t.equal(interrupted.state, 'failed');
  t.equal(interrupted.error, 'Interrupted: the service stopped before the run finished; nothing of it was applied');
  t.same(await catalogue(), before, 'no product changed');

  const next = await syncRun(b, headersOn(b));
  t.equal(next.state, 'succeeded', next.error ?? '');
  t.same(
    await sql`select count(*)::int as n from products where name like '% (before)'`,
    [{ n: 0 }],
    'the next run applied the whole catalogue',
  );
});

t.test('a replica killed mid-run (no chance to record it): the next run marks its run failed by its heartbeat', async (t) => {
  const a = await replica();
  t.teardown(() => a.close());
  // what a killed process leaves: a run marked running whose heartbeat stopped minutes ago
  const [dead] =
    await sql`insert into catalogue_sync_runs (trigger, state, started_at, heartbeat_at) values ('schedule', 'running', now() - interval '10 minutes', now() - interval '10 minutes') returning id`;
  const next = await syncRun(a, headersOn(a));
  t.equal(next.state, 'succeeded');
  const [marked] = await sql`select state, error, finished_at is not null as finished from catalogue_sync_runs where id = ${dead!.id}`;
  t.same(marked, {
    state: 'failed',
    error: 'Interrupted: the process running it stopped before it finished; nothing of it was applied',
    finished: true,
  });
});
