/**
 * The PostgreSQL side: the target must be empty; everything is written in one transaction (a
 * failure, or a verification that finds a difference, leaves it empty); rows go in with COPY, as a
 * stream on PostgreSQL (postgres.js `COPY … FROM STDIN`), in bounded chunks on PGlite
 * (`COPY … FROM '/dev/blob'`).
 */
import { Writable } from 'node:stream';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type postgres from 'postgres';
import { openDatabase, type DatabaseClient, type DatabaseTarget } from '../../db/client.js';
import { withMigrationLock } from '../migrator.js';

export const quotePg = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** What the import does inside the target's transaction. */
export interface TargetSession {
  exec(sql: string): Promise<void>;
  /** Rows as arrays of values (every column read as `::text` by the caller). */
  rows(sql: string): Promise<(string | null)[][]>;
  /** A stream of COPY text lines into a table's columns. */
  copyIn(table: string, columns: string[]): Promise<Writable>;
}

export interface Target {
  client: DatabaseClient;
  /** What the database holds already (its tables, the migration ledger): empty means ready. */
  contents(): Promise<string[]>;
  /** Runs `work` in one transaction; commits only when it returns. */
  transaction<T>(work: (session: TargetSession) => Promise<T>): Promise<T>;
}

/**
 * The target, under the migration lock: an import waits for a migrator (`npm start`, `db:migrate`)
 * and they for it, and of two imports into one database the second finds the first's tables.
 */
export async function withTarget<T>(target: DatabaseTarget, work: (target: Target) => Promise<T>): Promise<T> {
  const locked = (client: DatabaseClient) => work(targetOn(client));
  if ('url' in target) return withMigrationLock(target, locked);
  // PGlite: one process holds its directory, no lock to take
  const client = await openDatabase(target);
  try {
    return await withMigrationLock(client, locked);
  } finally {
    await client.close();
  }
}

function targetOn(client: DatabaseClient): Target {
  return {
    client,
    contents: async () =>
      (
        await client.query<{ name: string }>(
          `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
            order by 1`,
        )
      ).map((r) => r.name),
    transaction: (work) =>
      client.kind === 'postgres' ? postgresTransaction(client.db.$client, work) : pgliteTransaction(client.pglite, work),
  };
}

function postgresTransaction<T>(sql: postgres.Sql, work: (session: TargetSession) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx.unsafe("set local timezone = 'UTC'");
    return work({
      exec: async (text) => void (await tx.unsafe(text)),
      rows: async (text) => (await tx.unsafe(text).values()) as (string | null)[][],
      copyIn: (table, columns) => tx.unsafe(`copy ${quotePg(table)} (${columns.map(quotePg).join(', ')}) from stdin`).writable(),
    });
  }) as Promise<T>;
}

/** COPY text gathered up to this size, then sent as one blob: memory stays bounded. */
const PGLITE_CHUNK_BYTES = 4 * 1024 * 1024;

function pgliteTransaction<T>(pg: PGlite, work: (session: TargetSession) => Promise<T>): Promise<T> {
  return pg.transaction(async (tx: Transaction) => {
    await tx.exec("set local timezone = 'UTC'");
    return work({
      exec: async (text) => void (await tx.exec(text)),
      rows: async (text) => (await tx.query<(string | null)[]>(text, [], { rowMode: 'array' })).rows,
      copyIn: async (table, columns) => {
        const copy = `copy ${quotePg(table)} (${columns.map(quotePg).join(', ')}) from '/dev/blob'`;
        let pending: string[] = [];
        let size = 0;
        const flush = async () => {
          if (pending.length === 0) return;
          const blob = new Blob(pending);
          pending = [];
          size = 0;
          await tx.query(copy, [], { blob });
        };
        return new Writable({
          decodeStrings: false,
          write(chunk: string, _encoding, done) {
            pending.push(chunk);
            size += chunk.length;
            if (size < PGLITE_CHUNK_BYTES) return done();
            flush().then(() => done(), done);
          },
          final(done) {
            flush().then(() => done(), done);
          },
        });
      },
    });
  });
}
