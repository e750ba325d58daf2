/** The database: postgres.js when DATABASE_URL is set, PGlite otherwise; closed with the app. */
import fp from 'fastify-plugin';
import { openDatabase, type DatabaseClient, type DatabaseTarget, type Db } from '../db/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    database: DatabaseClient;
  }
}

/** `client`: one already open, which the app then owns (the server hands over PGlite's, opened once). */
export default fp<{ target: DatabaseTarget; client?: DatabaseClient; statementTimeout?: number }>(
  async (app, { target, client, statementTimeout }) => {
    const database = client ?? (await openDatabase(target, { statementTimeout }));
    app.decorate<DatabaseClient>('database', database);
    app.decorate<Db>('db', database.db);
    // the pool's first connection opens while the other plugins register, not on the first request
    const connected = database.query('select 1').then(
      () => {},
      () => {},
    );
    app.addHook('onReady', () => connected);
    app.addHook('onClose', () => database.close());
  },
  { name: 'db' },
);
