/**
 * The way back: each migration of the chain has its down file, `drizzle/down/<tag>.sql`, which
 * reverts exactly that migration. A rollback applies the down files of what the ledger records,
 * newest first, in one transaction under the migration lock, and removes their ledger rows, so
 * that the migrator applies them again later.
 */
import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { DatabaseClient, DatabaseTarget } from '../db/client.js';
import { readChain, type ChainEntry } from '../db/ledger.js';
import { MIGRATIONS_FOLDER } from '../db/migrations-folder.js';
import { LEDGER_TABLE, runSteps, withMigrationLock, type MigrationRun } from './migrator.js';

export const DOWN_FOLDER = `${MIGRATIONS_FOLDER}/down`;
export const downFile = (tag: string) => `${DOWN_FOLDER}/${tag}.sql`;

/** The statements of a down file, split where drizzle-kit splits a migration; comments alone are no statement. */
export function downStatements(tag: string): string[] {
  const file = downFile(tag);
  if (!existsSync(file)) throw new Error(`${tag} has no down file (${file}): it cannot be rolled back.`);
  return readFileSync(file, 'utf8')
    .split('--> statement-breakpoint')
    .map((statement) => statement.trim())
    .filter((statement) => statement.replace(/^--.*$/gm, '').trim() !== '');
}

/** The migrations the ledger records, oldest first. A ledger row this build does not know stops the rollback. */
export async function appliedMigrations(client: DatabaseClient): Promise<ChainEntry[]> {
  const [ledger] = await client.query<{ exists: boolean }>("select to_regclass('drizzle.__drizzle_migrations') is not null as exists");
  if (!ledger?.exists) return [];
  const rows = await client.query<{ when: string | number }>(
    'select distinct created_at as when from drizzle.__drizzle_migrations order by 1',
  );
  const chain = readChain();
  return rows.map(({ when }) => {
    const entry = chain.find((m) => m.when === Number(when));
    if (!entry) {
      throw new Error(
        `The ledger records a migration this build does not know (created_at ${when}): roll back with the release that applied it.`,
      );
    }
    return entry;
  });
}

export interface RollbackOptions {
  /** Roll back what was applied after this migration; it stays applied. Unset: everything. */
  to?: string;
}

/** Which applied migrations a rollback reverts, newest first. */
function toRevert(applied: ChainEntry[], to: string | undefined): ChainEntry[] {
  if (to === undefined) return [...applied].reverse();
  const index = applied.findIndex((m) => m.tag === to);
  if (index < 0) {
    const known = readChain().some((m) => m.tag === to);
    throw new Error(
      known
        ? `--to ${to}: that migration is not applied to this database.`
        : `--to ${to}: no such migration; the chain is ${readChain()
            .map((m) => m.tag)
            .join(', ')}.`,
    );
  }
  return applied.slice(index + 1).reverse();
}

/**
 * Takes the lock, measures before and after, and reverts in one transaction what the ledger records
 * (down to `options.to`). On failure nothing has changed. When the ledger ends empty its schema is
 * removed too, as the migrator leaves a database it has never touched.
 */
export function runRollback<T>(
  target: DatabaseTarget,
  measure: (client: DatabaseClient) => Promise<T>,
  options: RollbackOptions = {},
): Promise<MigrationRun<T>> {
  return withMigrationLock(target, async (client, notices) => {
    const applied = await appliedMigrations(client);
    const reverting = toRevert(applied, options.to);
    // every down file is read before anything runs: a missing one stops the rollback untouched
    const steps = reverting.map((entry) => ({
      entry,
      statements: downStatements(entry.tag),
      ledger: sql`delete from ${LEDGER_TABLE} where created_at = ${entry.when}`,
    }));
    const before = await measure(client);
    const carried = steps.length
      ? await runSteps(client, 'down', steps, {
          // as the migrator leaves a database it has never touched
          last: reverting.length === applied.length ? [sql`drop schema ${sql.identifier('drizzle')} cascade`] : [],
        })
      : [];
    const after = steps.length ? await measure(client) : before;
    return { direction: 'down', applied: reverting, before, after, notices, carried, afterwards: undefined };
  });
}
