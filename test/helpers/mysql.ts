/**
 * Scratch MySQL databases for the import's tests, on the MariaDB server standing in for MySQL 8:
 * each made from the old back office's schema (test/fixtures/mysql/schema, in name order), filled
 * with the rows of the PostgreSQL backup and MySQL's hard cases (or the uncarriable values), and
 * dropped when the test ends.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { LEGACY_BACKUP } from './databases.js';

export const MYSQL_ADMIN_URL = process.env.MYSQL_ADMIN_URL ?? 'mysql://root@127.0.0.1:3306/';
const FIXTURES = new URL('../fixtures/mysql/', import.meta.url);

export function mysqlUrlFor(database: string): string {
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

const schemaSteps = () =>
  readdirSync(new URL('schema/', FIXTURES))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(new URL(`schema/${f}`, FIXTURES), 'utf8'));

/**
 * The rows of the PostgreSQL backup as MySQL takes them: its INSERTs are plain standard SQL (double-
 * quoted names, no backslash escapes), which MySQL reads under ANSI_QUOTES and NO_BACKSLASH_ESCAPES;
 * the two models mapped to other table names get theirs, and timestamptz values lose their `+00`.
 */
function backupInserts(): string[] {
  return readFileSync(LEGACY_BACKUP, 'utf8')
    .split(/;\n/)
    .map((s) => s.trim())
    .filter((s) => s.startsWith('INSERT INTO'))
    .map((s) =>
      s
        .replace(/^INSERT INTO "BoxSettings"/, 'INSERT INTO "settings_boxes"')
        .replace(/^INSERT INTO "WordPressSkuCache"/, 'INSERT INTO "settings_wp_sku"')
        // every column name quoted: `set` is a reserved word in MySQL
        .replace(
          /^(INSERT INTO \S+ )\(([^)]*)\)/,
          (_, head: string, names: string) =>
            `${head}(${names
              .split(',')
              .map((n) => `"${n.trim().replace(/"/g, '')}"`)
              .join(', ')})`,
        )
        .replace(/'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\+00'/g, "'$1'"),
    );
}

export type MysqlContents = 'legacy' | 'uncarriable' | 'empty';

export interface ScratchMysql {
  name: string;
  url: string;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** CHECKSUM TABLE of every table: equal before and after means nothing was written. */
  checksums(): Promise<Record<string, string>>;
}

/** A MySQL database of the old back office's schema, holding `contents`; dropped when the test ends. */
export async function scratchMysql(t: { teardown(fn: () => unknown): void }, contents: MysqlContents = 'legacy'): Promise<ScratchMysql> {
  const name = `bo_import_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, multipleStatements: true, charset: 'utf8mb4_unicode_ci' });
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  });
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.query(`USE \`${name}\``);
  for (const step of schemaSteps()) await admin.query(step);
  if (contents === 'legacy') {
    await admin.query("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES'");
    for (const insert of backupInserts()) await admin.query(insert);
    await admin.query('SET SESSION sql_mode = DEFAULT');
    await admin.query(readFileSync(new URL('hard-cases.sql', FIXTURES), 'utf8'));
  } else if (contents === 'uncarriable') {
    await admin.query(readFileSync(new URL('uncarriable.sql', FIXTURES), 'utf8'));
    await admin.query('SET SESSION sql_mode = DEFAULT');
  }
  const query = async <T>(sql: string) => (await admin.query(sql))[0] as T[];
  return {
    name,
    url: mysqlUrlFor(name),
    query,
    checksums: async () => {
      const tables = await query<{ name: string }>(
        `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${name}' ORDER BY 1`,
      );
      const rows = await query<{ Table: string; Checksum: string }>(
        `CHECKSUM TABLE ${tables.map((r) => `\`${r.name}\``).join(', ')} EXTENDED`,
      );
      return Object.fromEntries(rows.map((r) => [r.Table, String(r.Checksum)]));
    },
  };
}
