/**
 * Pointed at PgBouncer without DATABASE_TRANSACTION_POOLER=true, the service stops saying what to
 * set (it printed PgBouncer's "unsupported startup parameter: statement_timeout" alone).
 */
import t from 'tap';
import { legacyTemplate, scratchDatabase } from '../helpers/databases.js';
import { PGBOUNCER, startPgBouncer } from '../helpers/pgbouncer.js';
import { startServer } from '../helpers/server.js';

t.ok(PGBOUNCER, 'pgbouncer is installed (apt-get install -y pgbouncer; bash .ci/run installs it)');

t.test('PgBouncer without DATABASE_TRANSACTION_POOLER: the service does not start, and says what to set', async (t) => {
  const bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 2 });
  t.teardown(bouncer.stop);
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);
  const started = startServer({ DATABASE_URL: bouncer.urlFor(db.name), NODE_ENV: 'production', LOG_LEVEL: 'error' });
  const error = await started.then(
    (server) => (server.child.kill('SIGKILL'), new Error(`it started:\n${server.output()}`)),
    (error: Error) => error,
  );
  t.match(error.message, /server exited with 1 before listening/, 'it does not start');
  t.match(error.message, 'unsupported startup parameter: statement_timeout', "PgBouncer's own words");
  t.match(error.message, /DATABASE_URL points at PgBouncer.*set DATABASE_TRANSACTION_POOLER=true.*DIRECT_DATABASE_URL/s, 'what to set');
});
