/** PostgreSQL plumbing for the benchmarks: connections, databases, psql. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';

export const ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export type Sql = postgres.Sql;

export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export const connect = (database = 'postgres') =>
  postgres(urlFor(database), { max: 1, onnotice: () => {}, connection: { application_name: 'bench' } });

export async function withDatabase<T>(database: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = connect(database);
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

const admin = (statement: string) => withDatabase('postgres', (sql) => sql.unsafe(statement));

export async function databaseExists(name: string): Promise<boolean> {
  const rows = await withDatabase('postgres', (sql) => sql`select 1 from pg_database where datname = ${name}`);
  return rows.length > 0;
}

export const createDatabase = (name: string) => admin(`create database "${name}"`);
/** FILE_COPY: copies the files instead of writing the whole template through the WAL. */
export const copyDatabase = (template: string, name: string) =>
  admin(`create database "${name}" template "${template}" strategy file_copy`);
export const dropDatabase = (name: string) => admin(`drop database if exists "${name}" with (force)`);
export const renameDatabase = (from: string, to: string) => admin(`alter database "${from}" rename to "${to}"`);

export async function databaseSize(name: string): Promise<number> {
  const [row] = await withDatabase('postgres', (sql) => sql`select pg_database_size(${name})::float8 as size`);
  return row!.size as number;
}

/** Runs a SQL file with psql, stopping at the first error. */
export async function psqlFile(database: string, file: string, variables: Record<string, string | number> = {}) {
  const vars = Object.entries(variables).flatMap(([name, value]) => ['-v', `${name}=${value}`]);
  await promisify(execFile)('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...vars, '-d', urlFor(database), '-f', file], {
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface TimedStatement {
  statement: string;
  seconds: number;
}

const since = (started: number) => (performance.now() - started) / 1000;

/** Runs the statements in one transaction and returns how long each took, then the commit. */
export async function timedTransaction(sql: Sql, statements: string[]): Promise<TimedStatement[]> {
  const timings: TimedStatement[] = [];
  let committing = 0;
  await sql.begin(async (tx) => {
    for (const statement of statements) {
      const started = performance.now();
      await tx.unsafe(statement);
      timings.push({ statement, seconds: since(started) });
    }
    committing = performance.now();
  });
  timings.push({ statement: 'commit', seconds: since(committing) });
  return timings;
}
