import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgQueryResultKind, PgTransaction } from 'drizzle-orm/pg-core';
import type { PgliteDatabase, PgliteQueryResultHKT } from 'drizzle-orm/pglite';
import type { PostgresJsDatabase, PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { fieldOf } from '../field-of.js';
import { causes } from './driver-errors.js';
import * as schema from './schema.js';

/** What `execute()` answers, the driver being chosen at run time: a row list (an array) on postgres.js, `{ rows }` on PGlite. */
export interface EitherDriverResult extends PgQueryResultHKT {
  type: PgQueryResultKind<PostgresJsQueryResultHKT, this['row']> | PgQueryResultKind<PgliteQueryResultHKT, this['row']>;
}
/** SQL names from the schema's keys: `orderNumber` is `order_number`. */
export const CASING = 'snake_case';
/** The database on either driver: what the routes and tools query, whichever it is. */
export type Db = PgDatabase<EitherDriverResult, typeof schema>;
/** A transaction on Db: what `db.transaction(async (tx) => …)` hands its callback. */
export type Tx = PgTransaction<EitherDriverResult, typeof schema, ExtractTablesWithRelations<typeof schema>>;

/** The rows `execute()` answered, on either driver (postgres.js: the list itself; PGlite: `{ rows }`). */
export const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows);

/**
 * Where the data lives: a PostgreSQL server, or the embedded PGlite in a directory. `directUrl`:
 * PostgreSQL itself, for the migrator's session lock, when `url` goes through a transaction-mode
 * pooler (`transactionPooler`: PgBouncer 1.18 carries neither named prepared statements nor
 * a query pipelined behind a parameterless one, which then waits forever).
 */
export type DatabaseTarget = { url: string; directUrl?: string; transactionPooler?: boolean } | { dataDir: string };

/** How busy the pool is, as seen from this process. */
export interface PoolUsage {
  max: number;
  /** Queries and transactions sent to the pool and not yet settled. */
  inFlight: number;
}

interface ClientBase {
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

export interface PostgresClient extends ClientBase {
  kind: 'postgres';
  /** `$client`: the postgres.js pool under it (the import's COPY streams). */
  db: PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
  /** PostgreSQL only (PGlite is one in-process connection). */
  pool: PoolUsage;
  pglite?: undefined;
}

export interface PgliteClient extends ClientBase {
  kind: 'pglite';
  db: PgliteDatabase<typeof schema>;
  pool?: undefined;
  /** PGlite only: the instance, for what takes it as such (the job queue). */
  pglite: PGlite;
}

/** One type per driver: `kind` tells which, and with it the driver's own drizzle database (the migrator takes that). */
export type DatabaseClient = PostgresClient | PgliteClient;

export interface Listener {
  /** NOTIFY on the listened channel, over the listener's own connection (not the pool's). */
  notify(payload: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ClientOptions {
  /** Connection pool size for PostgreSQL. */
  max?: number;
  /**
   * PostgreSQL's statement_timeout for the pool's sessions, in seconds (0 or unset: none): the
   * service's pool, so that no request holds a connection longer; the migrator has none.
   */
  statementTimeout?: number;
  onNotice?: (message: string) => void;
}

const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** The database cannot be reached, or dropped the connection (the driver's error may be a `cause`). */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    const field = fieldOf(e, 'code');
    const code = typeof field === 'string' ? field : '';
    if (CONNECTION_FAILURES.has(code) || /^(08|57P|53)/.test(code)) return true;
  }
  return false;
}

/**
 * The connection was lost once a transaction's work was done, while its COMMIT was on the way:
 * whether it committed is not known. (Lost before, the transaction cannot have committed: the
 * server rolls back a transaction whose session ends, and the patched driver runs none of its
 * statements on another connection.)
 */
export class CommitOutcomeUnknown extends Error {
  constructor(readonly cause: unknown) {
    super('the connection was lost during COMMIT');
  }
}

export async function openDatabase(target: DatabaseTarget, options: ClientOptions = {}): Promise<DatabaseClient> {
  if ('url' in target) {
    const max = options.max ?? 10;
    const settings = {
      ...(target.transactionPooler ? { prepare: false } : {}),
      // a database that does not answer fails a request (503) and the readiness probe in
      // seconds, not after the driver's default 30
      connect_timeout: 5,
      onnotice: (notice: postgres.Notice) => options.onNotice?.(String(notice.message)),
      connection: { application_name: 'backoffice-api' },
    };
    // a startup parameter, which PgBouncer refuses ("unsupported startup parameter"): behind a
    // transaction pooler it is the role's setting (README, "Behind PgBouncer")
    const statementTimeout =
      options.statementTimeout && !target.transactionPooler ? { statement_timeout: options.statementTimeout * 1000 } : {};
    const sql = postgres(target.url, { max, ...settings, connection: { ...settings.connection, ...statementTimeout } });
    const pool: PoolUsage = { max, inFlight: 0 };
    return {
      db: drizzlePostgres(counted(sql, pool), { schema, casing: CASING }),
      kind: 'postgres',
      pool,
      query: target.transactionPooler ? alone(sql) : async <T>(text: string) => [...(await sql.unsafe<T[]>(text))],
      listen: async (channel, onNotify, onListen) => {
        // a client per listener: a failed first LISTEN is not retried by postgres.js, so a
        // caller retries with a new one; named apart from the pool, whose statements it does not share.
        // LISTEN needs a session of its own: through a transaction-mode pooler, PostgreSQL directly
        const listener = postgres(target.directUrl ?? target.url, {
          ...settings,
          max: 1,
          connection: { application_name: 'backoffice-api-listen' },
        });
        try {
          const subscription = await listener.listen(channel, onNotify, onListen);
          return {
            notify: async (payload) => void (await listener.notify(channel, payload)),
            stop: async () => {
              await subscription.unlisten();
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
  const [pg, { drizzle: drizzlePglite }] = await Promise.all([openPglite(target.dataDir), import('drizzle-orm/pglite')]);
  return {
    db: drizzlePglite(pg, { schema, casing: CASING }),
    kind: 'pglite',
    pglite: pg,
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

/**
 * The embedded database in a directory, with the extensions the schema uses (pg_trgm: the orders
 * search index), which PGlite loads only when they are given here. Everything that opens a PGlite
 * directory opens it this way. Loaded only when used: on PostgreSQL, PGlite's module would be a
 * tenth of the start.
 */
export async function openPglite(dataDir: string) {
  const [{ PGlite }, { pg_trgm }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm')]);
  return PGlite.create(dataDir, { extensions: { pg_trgm } });
}

/**
 * Plain SQL on a connection of its own. postgres.js pipelines a parameterless query (simple
 * protocol) and anything sent after it on one connection; through PgBouncer in transaction mode
 * the later ones never answer. Parameterised queries with `prepare: false` are described first and
 * never share a connection, so these (probes, reports) are the ones to keep apart.
 */
function alone(sql: postgres.Sql) {
  return async <T>(text: string): Promise<T[]> => {
    const connection = await sql.reserve();
    try {
      return [...(await connection.unsafe<T[]>(text))];
    } finally {
      connection.release();
    }
  };
}

/**
 * postgres.js reports nothing about its pool, so count at its door what drizzle sends through it:
 * each query (`unsafe`) from when it is awaited until it settles, each transaction (`begin`) for
 * its whole life (its own queries go to its reserved connection, not through here).
 */
function counted(sql: postgres.Sql, pool: PoolUsage): postgres.Sql {
  const settled = () => void pool.inFlight--;
  function unsafe<T extends unknown[]>(...args: Parameters<postgres.Sql['unsafe']>) {
    // a postgres.js query runs when first awaited; `.values()` and the like must come first
    const query = sql.unsafe<T>(...args);
    const then = query.then.bind(query);
    let counting = false;
    query.then = (onFulfilled, onRejected) => {
      if (!counting) {
        counting = true;
        pool.inFlight++;
        void then(settled, settled);
      }
      return then(onFulfilled, onRejected);
    };
    return query;
  }
  type Work<T> = (tx: postgres.TransactionSql) => T | Promise<T>;
  // as postgres.js takes it: the callback, with options before it or not
  function begin<T>(...args: [work: Work<T>] | [options: string, work: Work<T>]) {
    pool.inFlight++;
    const [options, work] = args.length === 1 ? [undefined, ...args] : args;
    let committing = false;
    const withCommitNoted = async (tx: postgres.TransactionSql) => {
      const result = await work(tx);
      committing = true;
      return result;
    };
    const transaction = (options === undefined ? sql.begin(withCommitNoted) : sql.begin(options, withCommitNoted)).catch(
      (error: unknown) => {
        throw committing && isDatabaseUnavailable(error) ? new CommitOutcomeUnknown(error) : error;
      },
    );
    transaction.then(settled, settled);
    return transaction;
  }
  return new Proxy(sql, {
    get: (target, key, receiver): unknown => (key === 'unsafe' ? unsafe : key === 'begin' ? begin : Reflect.get(target, key, receiver)),
  });
}
