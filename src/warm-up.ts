/**
 * `node dist/server.js --write-code-cache` (src/launcher.ts; `npm run build` runs it): a start of the
 * service without its database, for V8's code cache to hold what a start compiles. The
 * configuration is read, the app built on a PostgreSQL that is not there and listening on free
 * ports, the probes asked once, then everything closed. (A real start on PGlite would not do:
 * its allocations make V8 drop the bytecode of the code that ran before it, the modules' own.)
 */
import { randomBytes } from 'node:crypto';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { pendingMigrations } from './db/migrations.js';

/** Refuses connections at once: nothing listens on port 1. */
const NOWHERE = 'postgres://warm-up@127.0.0.1:1/warm-up';

export async function warmUp(): Promise<void> {
  const config = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: NOWHERE,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
  });
  const database = await openDatabase(config.database);
  await pendingMigrations(database).catch(() => []);
  const app = await buildApp({ ...config, jwtSecret: config.jwtSecret! }, { database });
  try {
    await app.listen({ host: config.host, port: config.port });
    for (const url of ['/livez', '/readyz']) await app.inject({ url });
  } finally {
    await app.close();
  }
}
