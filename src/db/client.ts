import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction on Db: what `db.transaction(async (tx) => …)` hands its callback. */
export type Tx = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;

/** Where the data lives: a PostgreSQL server, or the embedded PGlite in a directory. */
export type DatabaseTarget = { url: string } | { dataDir: string };

export interface DatabaseClient {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Plain SQL for tooling (reports, probes); rows come back as plain objects. */
  query<T = Record<string, unknown>>(text: string): Promise<T[]>;
  /**
   * LISTEN on a channel, on a connection of its own. `onListen` runs each time the channel is
   * (again) listened to: when that connection drops, postgres.js reconnects and listens again.
   * Rejects when the database cannot be reached.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen: () => void): Promise<Listener>;
  close(): Promise<void>;
}

export interface Listener {
  /** NOTIFY on the listened channel, over the listener's own connection (not the pool's). */
  notify(payload: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ClientOptions {
  /** Connection pool size for PostgreSQL. */
  max?: number;
  onNotice?: (message: string) => void;
}

export async function openDatabase(target: DatabaseTarget, options: ClientOptions = {}): Promise<DatabaseClient> {
  if ('url' in target) {
    const settings = {
      // a database that does not answer fails a request (503) and the readiness probe in
      // seconds, not after the driver's default 30
      connect_timeout: 5,
      onnotice: (notice: postgres.Notice) => options.onNotice?.(String(notice.message)),
      connection: { application_name: 'backoffice-api' },
    };
    const sql = postgres(target.url, { max: options.max ?? 10, ...settings });
    return {
      db: drizzlePostgres(sql, { schema, casing: 'snake_case' }) as unknown as Db,
      kind: 'postgres',
      query: async <T>(text: string) => [...(await sql.unsafe(text))] as T[],
      listen: async (channel, onNotify, onListen) => {
        // a client per listener: a failed first LISTEN is not retried by postgres.js, so a
        // caller retries with a new one; named apart from the pool, whose statements it does not share
        const listener = postgres(target.url, { ...settings, max: 1, connection: { application_name: 'backoffice-api-listen' } });
        try {
          const { unlisten } = await listener.listen(channel, onNotify, onListen);
          return {
            notify: async (payload) => void (await listener.notify(channel, payload)),
            stop: async () => {
              await unlisten();
              await listener.end({ timeout: 1 });
            },
          };
        } catch (error) {
          await listener.end({ timeout: 0 });
          throw error;
        }
      },
      close: () => sql.end({ timeout: 5 }),
    };
  }
  const pg = await PGlite.create(target.dataDir);
  return {
    db: drizzlePglite(pg, { schema, casing: 'snake_case' }) as unknown as Db,
    kind: 'pglite',
    query: async <T>(text: string) => (await pg.query<T>(text)).rows,
    listen: async (channel, onNotify, onListen) => {
      const unlisten = await pg.listen(channel, onNotify);
      onListen();
      return {
        notify: async (payload) => void (await pg.query('select pg_notify($1, $2)', [channel, payload])),
        stop: () => unlisten(),
      };
    },
    close: () => pg.close(),
  };
}
