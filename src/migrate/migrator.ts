/**
 * The locked migrator: applies the chain in drizzle/ as `drizzle-kit migrate` does (drizzle's
 * reading of the files, the same ledger rows in drizzle.__drizzle_migrations), serialised by a
 * session advisory lock so that any number of replicas starting at once apply the chain once. Up
 * and down (src/migrate/rollback.ts) run the same loop, runSteps.
 */
import { getTableName, is, sql, type SQL } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { PgTable } from 'drizzle-orm/pg-core';
import { openDatabase, type DatabaseClient, type DatabaseTarget } from '../db/client.js';
import { pendingMigrations, type ChainEntry } from '../db/ledger.js';
import { MIGRATIONS_FOLDER } from '../db/migrations-folder.js';
import * as schema from '../db/schema.js';
import { DriftGuard } from './drift/guard.js';
import type { Direction } from './drift/problems.js';

const LEDGER = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' };
/** Any constant both the migrator and its concurrent copies agree on. */
const MIGRATION_LOCK = "hashtext('backoffice-api:migrations')";

/** One step of a run: its statements, and the change of the ledger that records it. */
export interface Step {
  entry: ChainEntry;
  statements: string[];
  ledger: SQL;
}

/**
 * The one loop of both directions: in one transaction, the drift guard's inventory first
 * (src/migrate/drift/), then each step's statements through the guard and its ledger row, then the
 * guard's end before the commit. On failure the database is as it was. `first` and `last` run in
 * the same transaction (the ledger's schema and table, created as drizzle's migrator creates them;
 * the ledger's schema removed when a rollback empties it). Returns what the guard carried.
 */
export async function runSteps(
  client: DatabaseClient,
  direction: Direction,
  steps: Step[],
  around: { first?: SQL[]; last?: SQL[] } = {},
): Promise<string[]> {
  let carried: string[] = [];
  await client.db.transaction(async (tx) => {
    for (const statement of around.first ?? []) await tx.execute(statement);
    const guard = new DriftGuard(tx, direction);
    await guard.begin(steps.map((step) => step.entry.tag));
    for (const { entry, statements, ledger } of steps) {
      guard.at(entry.tag);
      for (const statement of statements) await guard.step(statement, (savepoint) => savepoint.execute(sql.raw(statement)));
      await tx.execute(ledger);
    }
    for (const statement of around.last ?? []) await tx.execute(statement);
    carried = (await guard.finish()).lines;
  });
  return carried;
}

/** The tables the chain ends with (src/db/schema.ts), as VACUUM takes a list of them. */
const CHAIN_TABLES = Object.values(schema)
  .filter((value) => is(value, PgTable))
  .map((table) => `"${getTableName(table)}"`)
  .join(', ');

/** drizzle's ledger, as its migrator writes it (drizzle-orm pg-core dialect `migrate`): `drizzle-kit migrate` reads the same rows. */
export const LEDGER_TABLE = sql`${sql.identifier(LEDGER.migrationsSchema)}.${sql.identifier(LEDGER.migrationsTable)}`;
const CREATE_LEDGER = [
  sql`CREATE SCHEMA IF NOT EXISTS ${sql.identifier(LEDGER.migrationsSchema)}`,
  sql`CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
];

/**
 * Applies the pending migrations: drizzle's own reading of the chain (its statements, split where
 * drizzle-kit splits them, and each file's hash) and the same ledger rows as its migrator (hash,
 * created_at), so that `drizzle-kit migrate` and this command each see what the other applied.
 */
function applyPending(client: DatabaseClient, pending: ChainEntry[]): Promise<string[]> {
  const files = new Map(readMigrationFiles(LEDGER).map((m) => [m.folderMillis, m]));
  const steps = pending.map((entry) => {
    const file = files.get(entry.when)!; // the same journal: readChain and drizzle both read it
    return {
      entry,
      statements: file.sql,
      ledger: sql`insert into ${LEDGER_TABLE} ("hash", "created_at") values (${file.hash}, ${file.folderMillis})`,
    };
  });
  return runSteps(client, 'up', steps, { first: CREATE_LEDGER });
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
  /** What stopped the VACUUM (ANALYZE) after the chain had committed, if anything stopped it. */
  vacuumStopped?: string;
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
    if (target.kind !== 'pglite')
      throw new Error('withMigrationLock: an open client must be PGlite (PostgreSQL needs a session of its own for the lock)');
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
    const carried = await applyPending(client, pending);
    // tables rewritten and indexes built anew have no statistics for the planner, and no page marked all-visible,
    // without which the search's walk reads the table for every order its index holds (drizzle/0011); autovacuum
    // would see to both only once enough rows changed. Outside the steps' transaction: VACUUM cannot run in one.
    // The chain's tables only: an operator's own large tables in the same database are not this command's to scan.
    // The chain has committed by now: what stops the VACUUM (a role's statement_timeout, a lock_timeout) is said, not
    // thrown, which would report a migration that changed nothing.
    const vacuumStopped = await client.query(`vacuum (analyze) ${CHAIN_TABLES}`).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const after = await measure(client);
    return {
      direction: 'up',
      applied: pending,
      before,
      after,
      notices,
      carried,
      vacuumStopped,
      afterwards: (await afterwards?.(client)) as R,
    };
  });
}
