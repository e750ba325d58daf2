/**
 * `npm start` (dist/server.js, src/main.ts, calls startServer): validate the configuration,
 * migrate (the locked migrator of `npm run db:migrate`, which also creates the first admin of an
 * empty database), then serve. On SIGTERM or SIGINT:
 * /readyz turns 503, requests in flight finish, the server and the database close, exit 0 within
 * SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT seconds; a second signal exits at once.
 */
import closeWithGrace from 'close-with-grace';
import { buildApp, type App } from './app.js';
import { installationSecret } from './auth/installation-secret.js';
import { ConfigError, loadConfig, PortInUseError, readEnvFile, type Config } from './config.js';
import { openDatabase, type DatabaseClient } from './db/client.js';
import { ensureFirstAdmin, type FirstAdminResult } from './migrate/first-admin.js';
import { describeTarget } from './db/target.js';
import { countDatabase, describeFailure, formatReport } from './migrate/report.js';
import { pendingMigrations } from './db/ledger.js';
import { runMigrations } from './migrate/migrator.js';
import { fieldOf } from './field-of.js';

function configOrExit(): Config {
  try {
    readEnvFile();
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/**
 * Every migration of the chain applied and a user there: asked without the migrator's lock, which
 * neither needs (the chain only grows; with no user, the locked path creates the first admin).
 */
async function nothingToDo(client: DatabaseClient): Promise<boolean> {
  if ((await pendingMigrations(client)).length) return false;
  const [users] = await client.query<{ any: boolean }>('select exists (select from users) as any');
  return users?.any === true;
}

export async function startServer(): Promise<void> {
  const config = configOrExit();
  const where = describeTarget(config.database);

  // Signals are handled from the start: a SIGTERM during the migration stops the process at once
  // (the migration's transaction is rolled back by the database), not after the grace period.
  let app: App | undefined;
  closeWithGrace({ delay: (config.shutdownDelay + config.shutdownTimeout) * 1000 }, async ({ signal, err }) => {
    if (!app) {
      console.error(err ? `stopping during startup: ${String(err)}` : `${signal} during startup: stopping`);
      return;
    }
    if (err) app.log.error({ err }, 'stopping after an error');
    else app.log.info({ signal }, 'shutting down: readiness off, finishing requests in flight');
    app.markNotReady();
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDelay * 1000));
    await app.close();
    app.log.info('shut down');
  });

  function cannotStart(error: unknown): never {
    console.error(`${describeFailure(error, config.database)}\nThe service does not start.`);
    process.exit(1);
  }

  async function migrate(database: DatabaseClient): Promise<FirstAdminResult> {
    try {
      // the usual start on PostgreSQL: nothing to do, asked on the app's own pool
      if (database.kind === 'postgres' && (await nothingToDo(database))) {
        console.log(`Database: ${where}. ${formatReport({ applied: [], notices: [], afterwards: undefined }).text}`);
        return { created: false, reason: 'users exist' };
      }
      const run = await runMigrations(database.kind === 'pglite' ? database : config.database, countDatabase, (client) =>
        ensureFirstAdmin(client, config.firstAdmin, config.nodeEnv === 'production'),
      );
      const report = formatReport(run).text;
      console.log(run.applied.length ? `Database: ${where}.\n${report}` : `Database: ${where}. ${report}`);
      return run.afterwards;
    } catch (error) {
      cannotStart(error);
    }
  }

  // The app's database, opened here: on PGlite the migrator and the app share the one instance
  // (opening its directory a second time was about half of a start on PGlite).
  const database = await openDatabase(config.database, { statementTimeout: config.statementTimeout }).catch(cannotStart);
  // On PostgreSQL the app is built while the migrator waits for the database; nothing serves before
  // both are done. PGlite has one session and runs on this thread: one after the other.
  const migration = migrate(database);
  if (database.kind === 'pglite') await migration;
  // without JWT_SECRET (allowed only on PGlite: config.ts), the installation's own secret in its data directory
  const jwtSecret = config.jwtSecret ?? ('dataDir' in config.database ? installationSecret(config.database.dataDir) : '');
  const built = await buildApp({ ...config, jwtSecret }, { logLevel: config.logLevel, database });
  const firstAdmin = await migration;
  app = built;

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // the metrics server, started as the app gets ready, says so itself; anything else in use is PORT
    const inUse =
      error instanceof PortInUseError
        ? error
        : fieldOf(error, 'code') === 'EADDRINUSE'
          ? new PortInUseError('PORT', config.port, config.host)
          : undefined;
    if (!inUse) throw error;
    console.error(inUse.message);
    await app.close();
    process.exit(1);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const metrics = app.metrics.address();
  console.log(
    `backoffice-api listening on http://${config.host}:${port} (docs: http://localhost:${port}/docs), database: ${where}` +
      (metrics ? `, metrics: http://${config.host}:${metrics.port}/metrics` : ''),
  );
  if (firstAdmin.created) {
    console.log(
      firstAdmin.generatedPassword
        ? `First admin created: ${firstAdmin.email} with password ${firstAdmin.generatedPassword} (shown once: change it with PATCH /api/v1/users/:id)`
        : `First admin created: ${firstAdmin.email} (password from ADMIN_PASSWORD)`,
    );
  } else if (firstAdmin.reason === 'no password in production') {
    console.warn('The database has no users: set ADMIN_EMAIL and ADMIN_PASSWORD and restart to create the first admin.');
  }
}
