/**
 * The migration chain in drizzle/ and the locked migrator that applies it: the same migrator as
 * `drizzle-kit migrate` (drizzle-orm's, same ledger drizzle.__drizzle_migrations), serialised by a
 * session advisory lock so that any number of replicas starting at once apply the chain once.
 */
import type { SQL } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import { openDatabase, type DatabaseClient, type DatabaseTarget } from '../db/client.js';
import { pendingMigrations, type ChainEntry } from '../db/ledger.js';
import { MIGRATIONS_FOLDER } from '../db/migrations-folder.js';
import { DriftGuard } from './drift/guard.js';

const LEDGER = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' };
/** Any constant both the migrator and its concurrent copies agree on. */
const MIGRATION_LOCK = "hashtext('backoffice-api:migrations')";

/** drizzle-orm's own: the dialect's migrate and the session it takes (public in JavaScript, @internal in its types). */
type Migrator = { dialect: PgDialect & { sqlToQuery(query: SQL): { sql: string; params: unknown[] } }; session: PgSession };

/**
 * Applies the pending migrations in one transaction: drizzle-orm's own migrator (the same ledger
 * rows as `drizzle-kit migrate`: hash, created_at), given a session whose transaction also holds
 * the drift guard (src/migrate/drift.ts): its inventory runs first in that transaction, each statement
 * of the chain goes through it, and it finishes before the commit. On failure the database is as
 * it was: the transaction is rolled back, and the ledger schema is removed again if this run
 * created it. Returns what the guard carried.
 */
async function applyLocked(client: DatabaseClient, pending: ChainEntry[]): Promise<string[]> {
  const [before] = await client.query<{ exists: boolean }>("select to_regnamespace('drizzle') is not null as exists");
  const { dialect, session } = client.db as unknown as Migrator;
  let carried: string[] = [];
  const guarded = new Proxy(session, {
    get(target, property, receiver): unknown {
      if (property !== 'transaction') return Reflect.get(target, property, receiver);
      return (work: (tx: unknown) => Promise<unknown>, config?: never) =>
        target.transaction(async (tx) => {
          const guard = new DriftGuard(tx, 'up');
          await guard.begin(pending.map((m) => m.tag));
          let index = 0;
          guard.at(pending[0]!.tag);
          const stepping = new Proxy(tx, {
            get(inner, name, r): unknown {
              if (name !== 'execute') return Reflect.get(inner, name, r);
              return async (query: SQL) => {
                const { sql: text, params } = dialect.sqlToQuery(query);
                // the ledger row (hash, created_at) ends each migration; the chain's statements have no parameters
                if (params.length) {
                  const result = await inner.execute(query);
                  guard.at(pending[++index]?.tag ?? '');
                  return result;
                }
                return guard.step(text, (savepoint) => savepoint.execute(query));
              };
            },
          });
          const result = await work(stepping);
          carried = (await guard.finish()).lines;
          return result;
        }, config);
    },
  });
  try {
    await dialect.migrate(readMigrationFiles(LEDGER), guarded, LEDGER);
  } catch (error) {
    if (!before?.exists) {
      const [ledger] = await client.query<{ rows: number }>('select count(*)::int as rows from drizzle.__drizzle_migrations');
      if (ledger?.rows === 0) await client.query('drop schema drizzle cascade');
    }
    throw error;
  }
  return carried;
}

export interface MigrationRun<T, R = undefined> {
  /** 'up': `applied` were applied, oldest first; 'down': they were rolled back, newest first. */
  direction?: 'up' | 'down';
  applied: ChainEntry[];
  /** What `measure` found before and after; absent when nothing was pending (not measured). */
  before?: T;
  after?: T;
  notices: string[];
  /** What `afterwards` returned. */
  afterwards: R;
  /** Objects on the chain's tables that the chain does not manage, carried through the run (one line each). */
  carried?: string[];
}

/**
 * Opens its own one-connection client and runs `fn` holding the migration lock (waiting while
 * another migrator or rollback holds it). `notices` collects what the database says meanwhile.
 * Given an open PGlite client instead (one process holds its directory: no lock to take), runs
 * `fn` on it and leaves it open.
 */
export async function withMigrationLock<T>(
  target: DatabaseTarget | DatabaseClient,
  fn: (client: DatabaseClient, notices: string[]) => Promise<T>,
): Promise<T> {
  const notices: string[] = [];
  if ('kind' in target) {
    if (target.kind !== 'pglite') throw new Error('withMigrationLock: an open client must be PGlite (PostgreSQL needs a session of its own for the lock)');
    return fn(target, notices);
  }
  // the session lock needs PostgreSQL itself, not a transaction-mode pooler in front of it
  const direct = 'url' in target && target.directUrl ? { url: target.directUrl } : target;
  const client = await openDatabase(direct, { max: 1, onNotice: (message) => notices.push(message) });
  try {
    if (client.kind === 'postgres') await client.query(`select pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      return await fn(client, notices);
    } finally {
      // closing the session releases the lock too, so a failed unlock must not hide the real error
      if (client.kind === 'postgres') await client.query(`select pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {});
    }
  } finally {
    await client.close();
  }
}

/**
 * Takes the lock and, when something is pending, measures (`measure`, e.g. row counts) before and
 * after applying it; runs `afterwards` (e.g. seeding) still under the lock.
 */
export function runMigrations<T, R = undefined>(
  target: DatabaseTarget | DatabaseClient,
  measure: (client: DatabaseClient) => Promise<T>,
  afterwards?: (client: DatabaseClient) => Promise<R>,
): Promise<MigrationRun<T, R>> {
  return withMigrationLock(target, async (client, notices) => {
    const pending = await pendingMigrations(client);
    // nothing pending, nothing measured: counting every table's rows (1M orders) would be most of the start;
    // `as R`: without `afterwards`, R is its default, undefined
    if (!pending.length) return { direction: 'up', applied: pending, notices, afterwards: (await afterwards?.(client)) as R };
    const before = await measure(client);
    const carried = await applyLocked(client, pending);
    const after = await measure(client);
    return { direction: 'up', applied: pending, before, after, notices, carried, afterwards: (await afterwards?.(client)) as R };
  });
}
