/**
 * The migration chain in drizzle/ and the locked migrator that applies it: the same migrator as
 * `drizzle-kit migrate` (drizzle-orm's, same ledger drizzle.__drizzle_migrations), serialised by a
 * session advisory lock so that any number of replicas starting at once apply the chain once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { openDatabase, type DatabaseClient, type DatabaseTarget } from './client.js';

/** The package's own directory, the nearest holding package.json: src/db/ in development, dist/ or its chunks once built. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const MIGRATIONS_FOLDER = join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'drizzle');
const LEDGER = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' };
/** Any constant both the migrator and its concurrent copies agree on. */
const MIGRATION_LOCK = "hashtext('backoffice-api:migrations')";

export interface ChainEntry {
  tag: string;
  when: number;
}

let chain: ChainEntry[] | undefined;

/** The chain as shipped with this build; read once (the readiness probe asks for it often). */
export function readChain(): ChainEntry[] {
  return (chain ??= readJournal());
}

function readJournal(): ChainEntry[] {
  const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  // drizzle's migrator dates each migration by its journal entry too (readMigrationFiles:
  // folderMillis = when); reading and hashing every SQL file here as well cost each start ~2 ms
  return journal.entries.map((entry) => ({ tag: entry.tag, when: entry.when }));
}

/** Migrations of the chain that the database has not applied (drizzle's rule: newer than the last applied). */
export async function pendingMigrations(client: DatabaseClient): Promise<ChainEntry[]> {
  const [ledger] = await client.query<{ exists: boolean }>(
    "select to_regclass('drizzle.__drizzle_migrations') is not null as exists",
  );
  let last = -Infinity;
  if (ledger?.exists) {
    const [row] = await client.query<{ last: string | number | null }>(
      'select max(created_at) as last from drizzle.__drizzle_migrations',
    );
    if (row?.last != null) last = Number(row.last);
  }
  return readChain().filter((entry) => entry.when > last);
}

/**
 * Applies the pending migrations in one transaction. On failure the database is as it was: the
 * transaction is rolled back, and the ledger schema is removed again if this run created it.
 */
async function applyLocked(client: DatabaseClient): Promise<void> {
  const [before] = await client.query<{ exists: boolean }>("select to_regnamespace('drizzle') is not null as exists");
  try {
    if (client.kind === 'pglite') {
      const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
      await migratePglite(client.db, LEDGER);
    }
    else await migratePostgres(client.db, LEDGER);
  } catch (error) {
    if (!before?.exists) {
      const [ledger] = await client.query<{ rows: number }>('select count(*)::int as rows from drizzle.__drizzle_migrations');
      if (ledger?.rows === 0) await client.query('drop schema drizzle cascade');
    }
    throw error;
  }
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
    // nothing pending, nothing measured: counting every table's rows (1M orders) would be most of the start
    if (!pending.length) return { direction: 'up', applied: pending, notices, afterwards: (await afterwards?.(client)) as R };
    const before = await measure(client);
    await applyLocked(client);
    const after = await measure(client);
    return { direction: 'up', applied: pending, before, after, notices, afterwards: (await afterwards?.(client)) as R };
  });
}
