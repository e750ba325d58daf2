/**
 * Reading the legacy MySQL database: one connection, one consistent snapshot (REPEATABLE READ,
 * `START TRANSACTION WITH CONSISTENT SNAPSHOT`, read only), its catalogue, and each table's rows
 * as a stream that mysql2 pauses while the writer catches up (memory stays bounded).
 */
import type { Readable } from 'node:stream';
import mysql from 'mysql2';
import type { MysqlColumn } from './types.js';

export interface MysqlTable {
  name: string;
  columns: MysqlColumn[];
  primaryKey: string[];
  /** Indexes other than the primary key: name, uniqueness, columns in order. */
  indexes: { name: string; unique: boolean; columns: string[] }[];
  /** The table's AUTO_INCREMENT counter (the next id MySQL would give), when it has one. */
  nextId: number | null;
}

export interface Source {
  /** Where it is, without the password: `host:port/database`. */
  description: string;
  database: string;
  /** When the snapshot was taken (UTC, the MySQL server's clock). */
  snapshotAt: string;
  tables: MysqlTable[];
  /** Views and other objects that are not base tables: named, not carried. */
  otherObjects: { name: string; type: string }[];
  query<T>(sql: string): Promise<T[]>;
  count(table: string): Promise<number>;
  /** Every row of a table as an array of column values (in `columns` order). */
  rows(table: MysqlTable): Readable;
  /** Some columns of every row, as arrays. */
  select(table: string, columns: string[]): Readable;
  close(): Promise<void>;
}

export const quoteMysql = (name: string) => `\`${name.replace(/`/g, '``')}\``;

export function describeMysqlUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 3306}${parsed.pathname}`;
}

export async function openSource(url: string): Promise<Source> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error('The source must be a mysql:// URL (mysql://user:password@host:3306/database).');
  const database = decodeURIComponent(parsed.pathname.slice(1));
  if (!database) throw new Error('The source URL names no database (mysql://user:password@host:3306/database).');
  const raw = mysql.createConnection({
    uri: url,
    charset: 'utf8mb4_unicode_ci',
    // values as MySQL sends them: dates as written, big integers and decimals exact, JSON as text
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    // TIMESTAMP columns are read in UTC
    timezone: 'Z',
    connectTimeout: 10_000,
  });
  const connection = raw.promise();
  try {
    await connection.connect();
    await connection.query("SET SESSION time_zone = '+00:00'");
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [[{ snapshotAt }]] = (await connection.query(
      "SELECT DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ') AS snapshotAt",
    )) as unknown as [[{ snapshotAt: string }]];
    const query = async <T>(sql: string) => (await connection.query(sql))[0] as T[];
    const select = (table: string, columns: string[]) =>
      raw
        .query({ sql: `SELECT ${columns.map(quoteMysql).join(', ')} FROM ${quoteMysql(table)}`, rowsAsArray: true })
        .stream({ highWaterMark: 1000 });
    const { tables, otherObjects } = await readCatalogue(query, database);
    return {
      description: describeMysqlUrl(url),
      database,
      snapshotAt: snapshotAt.replace(/(\.\d{3})\d*Z$/, '$1Z'),
      tables,
      otherObjects,
      query,
      count: async (table) => Number((await query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${quoteMysql(table)}`))[0]!.n),
      rows: (table) =>
        select(
          table.name,
          table.columns.map((c) => c.name),
        ),
      select,
      close: async () => {
        await connection.query('ROLLBACK').catch(() => {});
        await connection.end();
      },
    };
  } catch (error) {
    connection.destroy();
    throw error;
  }
}

type Query = <T>(sql: string) => Promise<T[]>;

async function readCatalogue(query: Query, database: string) {
  const schema = mysql.escape(database);
  const objects = await query<{ name: string; type: string; nextId: number | null }>(
    `SELECT TABLE_NAME AS name, TABLE_TYPE AS type, AUTO_INCREMENT AS nextId FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${schema} ORDER BY TABLE_NAME`,
  );
  const columns = await query<{
    table: string;
    name: string;
    dataType: string;
    columnType: string;
    nullable: string;
    charset: string | null;
    extra: string;
    precision: number | null;
    scale: number | null;
    length: number | null;
  }>(
    `SELECT TABLE_NAME AS \`table\`, COLUMN_NAME AS name, LOWER(DATA_TYPE) AS dataType, LOWER(COLUMN_TYPE) AS columnType,
            IS_NULLABLE AS nullable, CHARACTER_SET_NAME AS charset, EXTRA AS extra, NUMERIC_PRECISION AS \`precision\`,
            NUMERIC_SCALE AS scale, CHARACTER_MAXIMUM_LENGTH AS length
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${schema} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  );
  // MariaDB's JSON: a LONGTEXT with the check json_valid(`column`); MySQL has no such table before 8.0.16
  const checks = await query<{ table: string; clause: string }>(
    `SELECT TABLE_NAME AS \`table\`, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ${schema}`,
  ).catch(() => []);
  const jsonChecked = new Set(
    checks.flatMap(({ table, clause }) => {
      const match = /^json_valid\(`(.+)`\)$/i.exec(clause.trim());
      return match ? [`${table}.${match[1]}`] : [];
    }),
  );
  const indexColumns = await query<{ table: string; index: string; nonUnique: number | string; column: string }>(
    `SELECT TABLE_NAME AS \`table\`, INDEX_NAME AS \`index\`, NON_UNIQUE AS nonUnique, COLUMN_NAME AS \`column\`
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ${schema} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
  );
  const tables: MysqlTable[] = objects
    .filter((o) => o.type === 'BASE TABLE')
    .map((o) => {
      const indexes = new Map<string, { name: string; unique: boolean; columns: string[] }>();
      for (const row of indexColumns.filter((r) => r.table === o.name)) {
        const index = indexes.get(row.index) ?? { name: row.index, unique: Number(row.nonUnique) === 0, columns: [] };
        index.columns.push(row.column);
        indexes.set(row.index, index);
      }
      return {
        name: o.name,
        columns: columns
          .filter((c) => c.table === o.name)
          .map((c) => ({
            name: c.name,
            dataType: c.dataType,
            columnType: c.columnType,
            nullable: c.nullable === 'YES',
            charset: c.charset,
            autoIncrement: c.extra.toLowerCase().includes('auto_increment'),
            jsonChecked: jsonChecked.has(`${o.name}.${c.name}`),
            precision: c.precision === null ? null : Number(c.precision),
            scale: c.scale === null ? null : Number(c.scale),
            length: c.length === null ? null : Number(c.length),
          })),
        primaryKey: indexes.get('PRIMARY')?.columns ?? [],
        indexes: [...indexes.values()].filter((i) => i.name !== 'PRIMARY'),
        nextId: o.nextId === null ? null : Number(o.nextId),
      };
    });
  return { tables, otherObjects: objects.filter((o) => o.type !== 'BASE TABLE').map(({ name, type }) => ({ name, type })) };
}
