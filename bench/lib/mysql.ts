/**
 * The MySQL copy of a legacy-scale database (bench/legacy-scale, on PostgreSQL): the old back office's
 * MySQL schema (test/fixtures/mysql/schema), each table's rows streamed from PostgreSQL's COPY into
 * MySQL's LOAD DATA (both speak the same tab-separated text with backslash escapes and \N for NULL).
 * Kept between runs as bo_bench_mysql_<N>.
 */
import { readFileSync, readdirSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { connect } from './pg.js';

export const MYSQL_ADMIN_URL = process.env.MYSQL_ADMIN_URL ?? 'mysql://root@127.0.0.1:3306/';
export const mysqlName = (orders: number) => `bo_bench_mysql_${orders}`;
export function mysqlUrl(database: string) {
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

const SCHEMA = new URL('../../test/fixtures/mysql/schema/', import.meta.url);
const MYSQL_TABLE: Record<string, string> = { BoxSettings: 'settings_boxes', WordPressSkuCache: 'settings_wp_sku' };

/** Whether the MySQL copy holds as many rows as the PostgreSQL original in every table (an interrupted build does not). */
async function complete(admin: mysql.Connection, database: string, legacy: string): Promise<boolean> {
  const pg = connect(legacy);
  try {
    const tables = await pg<{ table: string }[]>`select table_name as table from information_schema.tables where table_schema = 'public'`;
    for (const { table } of tables) {
      const [original] = await pg.unsafe(`select count(*)::int as n from "${table}"`);
      const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM \`${database}\`.\`${MYSQL_TABLE[table] ?? table}\``).catch(() => [[]]);
      const [copy] = rows as { n: number }[];
      if (!copy || Number(copy.n) !== original!.n) return false;
    }
    return true;
  } finally {
    await pg.end();
  }
}

/** The MySQL copy of the PostgreSQL legacy database `legacy` (`orders` orders), built unless present. */
export async function ensureMysqlCopy(legacy: string, orders: number, log: (line: string) => void): Promise<string> {
  const name = mysqlName(orders);
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, multipleStatements: true, charset: 'utf8mb4_unicode_ci' });
  try {
    if (await complete(admin, name, legacy)) {
      log(`reusing MySQL ${name}`);
      return name;
    }
    log(`building MySQL ${name} from ${legacy} …`);
    const started = performance.now();
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.query(`USE \`${name}\``);
    for (const file of readdirSync(SCHEMA)
      .filter((f) => f.endsWith('.sql'))
      .sort())
      await admin.query(readFileSync(new URL(file, SCHEMA), 'utf8'));
    await admin.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
    const pg = connect(legacy);
    try {
      const columns = await pg<{ table: string; column: string; type: string }[]>`
        select table_name as table, column_name as column, data_type as type from information_schema.columns
         where table_schema = 'public' order by table_name, ordinal_position`;
      for (const table of [...new Set(columns.map((c) => c.table))]) {
        const own = columns.filter((c) => c.table === table);
        const select = own.map((c) =>
          c.type === 'boolean'
            ? `"${c.column}"::int`
            : c.type === 'timestamp with time zone'
              ? `"${c.column}" at time zone 'UTC'`
              : `"${c.column}"`,
        );
        const source = await pg.unsafe(`copy (select ${select.join(', ')} from "${table}") to stdout`).readable();
        await admin.query({
          sql: `LOAD DATA LOCAL INFILE 'stream' INTO TABLE \`${MYSQL_TABLE[table] ?? table}\` CHARACTER SET utf8mb4 (${own.map((c) => `\`${c.column}\``).join(', ')})`,
          infileStreamFactory: () => source,
        });
      }
    } finally {
      await pg.end();
    }
    log(`built MySQL ${name} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return name;
  } finally {
    await admin.end();
  }
}
