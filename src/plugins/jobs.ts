/**
 * pg-boss, once per process, for every feed that needs a queue or a schedule (the SalesDrive status
 * push, the Dilovod catalogue sync): started by the first that asks, never when none does, stopped
 * with the app, letting the jobs under way finish for up to `stopTimeout` seconds.
 */
import fp from 'fastify-plugin';
import type { PgBoss } from 'pg-boss';
import type { DatabaseTarget } from '../db/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's pg-boss, started. */
    jobs(): Promise<PgBoss>;
  }
}

export default fp<{ target: DatabaseTarget; stopTimeout: number }>(
  async (app, { target, stopTimeout }) => {
    let started: Promise<PgBoss> | undefined;
    async function start() {
      const { PgBoss, fromPglite } = await import('pg-boss');
      const pglite = app.database.pglite;
      const boss: PgBoss = pglite
        ? new PgBoss({ db: fromPglite(pglite), backend: 'pglite' })
        : new PgBoss({
            // its own two connections, to PostgreSQL itself: LISTEN and advisory locks need a session
            connectionString: 'url' in target ? (target.directUrl ?? target.url) : undefined,
            max: 2,
            application_name: 'backoffice-api-jobs',
            useListenNotify: true,
          });
      boss.on('error', (err) => app.log.error({ err }, 'job queue: database error (pg-boss retries)'));
      await boss.start();
      return boss;
    }
    app.decorate('jobs', () => (started ??= start()));
    app.addHook('onClose', async () => {
      if (started) await (await started).stop({ graceful: true, timeout: stopTimeout * 1000 });
    });
  },
  { name: 'jobs', dependencies: ['db'] },
);
