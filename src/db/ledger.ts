/**
 * The migration chain as shipped with this build (drizzle/meta/_journal.json) and what the
 * database's ledger (drizzle.__drizzle_migrations) says it has applied: what /readyz and the
 * metrics read. Applying the chain is src/migrate/'s.
 */
import { readFileSync } from 'node:fs';
import type { DatabaseClient } from './client.js';
import { MIGRATIONS_FOLDER } from './migrations-folder.js';

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
  const [ledger] = await client.query<{ exists: boolean }>("select to_regclass('drizzle.__drizzle_migrations') is not null as exists");
  let last = -Infinity;
  if (ledger?.exists) {
    const [row] = await client.query<{ last: string | number | null }>('select max(created_at) as last from drizzle.__drizzle_migrations');
    if (row?.last != null) last = Number(row.last);
  }
  return readChain().filter((entry) => entry.when > last);
}
