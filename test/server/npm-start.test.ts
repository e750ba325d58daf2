/**
 * `npm start` under a supervisor (systemd, pm2, a CI step, `docker run … npm start`): a SIGTERM or
 * SIGINT sent to the npm process alone drains and stops the service, as a signal to node does.
 */
import t from 'tap';
import { migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';

const status = (url: string) =>
  fetch(url).then(
    (r) => r.status,
    (e: { cause?: { code?: string } }) => e.cause?.code ?? 'failed',
  );

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} to the npm process drains and stops the server`, async (t) => {
    const db = await scratchDatabase(await migratedTemplate());
    t.teardown(db.drop);
    const npm = await startServer({ DATABASE_URL: db.url, SHUTDOWN_DELAY: '1', LOG_LEVEL: 'info' }, 120_000, { command: ['npm', 'start'] });
    t.teardown(() => npm.child.kill('SIGKILL'));
    t.equal(await status(npm.url('/readyz')), 200);
    npm.child.kill(signal); // the npm process only, not its process group
    await new Promise((r) => setTimeout(r, 300));
    t.equal(await status(npm.url('/readyz')), 503, 'the server drains: /readyz 503');
    t.equal(await npm.exited, 0, 'npm exits 0');
    t.match(npm.output(), /shut down/, 'after the server shut down');
    t.equal(await status(npm.url('/livez')), 'ECONNREFUSED', 'nothing serves on the port any more');
  });
}
