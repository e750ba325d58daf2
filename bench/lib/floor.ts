/**
 * The physical floor of the restructuring: each table the migration rewrites, written once with
 * the migration's conversions (CREATE TABLE … AS SELECT), then every index of the final schema
 * built on it. The migration rewrites all six tables: timestamp(3) -> timestamptz(3) is a table
 * rewrite on PostgreSQL 15 even in a UTC session (only a change to timestamptz without a precision
 * is not). Index names and definitions follow src/db/schema.ts; bench/migration.ts checks the
 * tables and index names against what the real migration rewrote and built.
 */
import { timedTransaction, withDatabase, type Sql, type TimedStatement } from './pg.js';
import { watch, type Observation } from './monitor.js';

interface FloorTable {
  legacy: string;
  final: string;
  /** Columns the migration adds: name -> type (all NULL until the refresh-token move fills a few). */
  added?: Record<string, string>;
  /** name -> definition; a primary key is a unique index plus NOT NULL, which CTAS keeps. */
  indexes: Record<string, string>;
}

export const FLOOR_TABLES: FloorTable[] = [
  {
    legacy: 'Order',
    final: 'orders',
    indexes: {
      orders_pkey: 'unique (id)',
      orders_external_id_key: 'unique (external_id)',
      orders_status_created_at_idx: '(status, created_at, id)',
      orders_created_at_idx: '(created_at, id)',
      orders_order_date_idx: '(order_date, id)',
      orders_last_synced_idx: '(last_synced, id)',
      orders_sync_status_idx: '(sync_status)',
      orders_customer_phone_idx: '(customer_phone)',
    },
  },
  {
    legacy: 'OrderHistory',
    final: 'order_history',
    indexes: {
      order_history_pkey: 'unique (id)',
      order_history_order_id_changed_at_idx: '(order_id, changed_at)',
      order_history_changed_at_idx: '(changed_at, id)',
      order_history_user_id_idx: '(user_id)',
    },
  },
  {
    legacy: 'Product',
    final: 'products',
    indexes: {
      products_pkey: 'unique (id)',
      products_sku_key: 'unique (sku)',
      products_category_name_idx: '(category_name)',
      products_last_sync_at_idx: '(last_sync_at, id)',
    },
  },
  {
    legacy: 'User',
    final: 'users',
    added: {
      refresh_token_hash: 'text',
      refresh_token_expires_at: 'timestamptz(3)',
      previous_refresh_token_hash: 'text',
      refresh_token_rotated_at: 'timestamptz(3)',
    },
    indexes: {
      users_pkey: 'unique (id)',
      users_email_key: 'unique (lower(email))',
      users_refresh_token_hash_key: 'unique (refresh_token_hash)',
      users_previous_refresh_token_hash_idx: '(previous_refresh_token_hash)',
    },
  },
  { legacy: 'BoxSettings', final: 'box_settings', indexes: { box_settings_pkey: 'unique (id)' } },
  { legacy: 'WordPressSkuCache', final: 'wordpress_sku_cache', indexes: { wordpress_sku_cache_pkey: 'unique (id)' } },
];

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The migration's conversions: legacy UTC timestamps -> timestamptz, double money -> numeric(12,2). */
function converted(column: string, type: string): string {
  const source = `"${column}"`;
  const value =
    type === 'double precision'
      ? `${source}::numeric(12, 2)`
      : type.startsWith('timestamp(3) without time zone')
        ? `(${source} at time zone 'UTC')::timestamptz(3)`
        : source;
  return `${value} as "${snakeCase(column)}"`;
}

async function selectList(sql: Sql, table: FloorTable): Promise<string> {
  const columns = await sql<{ name: string; type: string }[]>`
    select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
     where attrelid = ${`"${table.legacy}"`}::regclass and attnum > 0 and not attisdropped order by attnum`;
  const added = Object.entries(table.added ?? {}).map(([name, type]) => `null::${type} as "${name}"`);
  return [...columns.map((c) => converted(c.name, c.type)), ...added].join(', ');
}

/** The floor's statements, read against the legacy database it will run on. */
export async function floorStatements(sql: Sql): Promise<string[]> {
  const statements: string[] = [];
  for (const table of FLOOR_TABLES) {
    statements.push(`create table "${table.final}" as select ${await selectList(sql, table)} from "${table.legacy}"`);
    for (const [name, definition] of Object.entries(table.indexes)) {
      const unique = definition.startsWith('unique ');
      statements.push(`create ${unique ? 'unique ' : ''}index "${name}" on "${table.final}" ${definition.replace(/^unique /, '')}`);
    }
  }
  return statements;
}

export interface FloorResult {
  seconds: number;
  steps: TimedStatement[];
  observation: Observation;
}

/** Runs the floor on `database` (a copy of a legacy database) in one transaction, watched. */
export async function runFloor(database: string): Promise<FloorResult> {
  return withDatabase(database, async (sql) => {
    const statements = await floorStatements(sql);
    const watching = await watch(database, new Map());
    const started = performance.now();
    try {
      const steps = await timedTransaction(sql, statements);
      return { seconds: (performance.now() - started) / 1000, steps, observation: await watching.stop() };
    } catch (error) {
      await watching.stop();
      throw error;
    }
  });
}
