/**
 * The floors: the least work PostgreSQL must do to reach the same final schema, each run in one
 * transaction on a copy of the database the real command starts from.
 *
 * Restructuring (legacy -> final): the tables whose rows must change are written once with the
 * migration's conversions (CREATE TABLE … AS SELECT), and the old ones dropped: orders and products,
 * whose money goes from double precision to numeric(12,2). The others keep their rows: under
 * TimeZone UTC, timestamp(3) -> plain timestamptz rewrites nothing on PostgreSQL 15, and renames and
 * added NULL columns only touch the catalogue. The floor builds the indexes the final schema adds
 * (all of them on a table written anew), reads each table once to verify the checks the final
 * schema holds validated, and drops the three tables the final schema has not. It keeps no foreign
 * key to a table written anew (re-adding one would cost a validation the migration does not pay).
 * Index names and definitions follow src/db/schema.ts; bench/migration.ts checks them, and the
 * tables rewritten, against what the real migration did.
 *
 * Rollback (final -> legacy): every table is written anew and the old one dropped, since
 * TIMESTAMP(3) is a typmod that PostgreSQL enforces by a rewrite, and every index of the legacy
 * schema is built on it (read from the legacy database the migration started from).
 */
import { readFileSync } from 'node:fs';
import { timedTransaction, withDatabase, type Sql, type TimedStatement } from './pg.js';
import { watch, type Observation } from './monitor.js';

const PLAN = JSON.parse(readFileSync(new URL('../../drizzle/plans/0001_restructure.json', import.meta.url), 'utf8')) as {
  tables: Record<string, string>;
  columns: Record<string, Record<string, string>>;
};

interface FloorTable {
  legacy: string;
  final: string;
  /** Whether its rows must be written anew (a column whose values change representation). */
  rewrite: boolean;
  /** Columns the migration adds: name -> type (all NULL until the refresh-token move fills a few). */
  added?: Record<string, string>;
  /** Indexes that must be built: name -> definition; a primary key is a unique index plus NOT NULL, which CTAS keeps. */
  indexes: Record<string, string>;
  /** Checks the final schema holds validated: all verified in one read of the table. */
  checks?: string[];
}

export const FLOOR_TABLES: FloorTable[] = [
  {
    legacy: 'Order',
    final: 'orders',
    rewrite: true,
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
    checks: ['quantity >= 0', 'total_price >= 0', "jsonb_typeof(items) = 'array'", "sync_status in ('pending', 'success', 'error')"],
  },
  {
    legacy: 'OrderHistory',
    final: 'order_history',
    rewrite: false,
    indexes: {
      order_history_order_id_changed_at_idx: '(order_id, changed_at)',
      order_history_changed_at_idx: '(changed_at, id)',
      order_history_user_id_idx: '(user_id)',
    },
    checks: ["source in ('webhook', 'manual', 'salesdrive')"],
  },
  {
    legacy: 'Product',
    final: 'products',
    rewrite: true,
    indexes: {
      products_pkey: 'unique (id)',
      products_sku_key: 'unique (sku)',
      products_category_name_idx: '(category_name)',
      products_last_sync_at_idx: '(last_sync_at, id)',
    },
    checks: ['cost_per_item >= 0', "currency ~ '^[A-Z]{3}$'"],
  },
  {
    legacy: 'User',
    final: 'users',
    rewrite: false,
    added: { sessions: 'jsonb', token_version: 'integer' },
    indexes: {
      users_email_key: 'unique (lower(email))',
      users_sessions_idx: 'using gin (sessions jsonb_path_ops)',
    },
    checks: ["role in ('admin', 'boss', 'shop-manager', 'ads-manager', 'storekeeper', 'user')", "email = btrim(email) and email like '_%@_%'"],
  },
  {
    legacy: 'BoxSettings',
    final: 'box_settings',
    rewrite: false,
    indexes: {},
    checks: ['qnt_from >= 0 and qnt_from <= qnt_to and overflow >= 0', 'width > 0 and height > 0 and length > 0 and weight >= 0 and self_weight >= 0'],
  },
  {
    legacy: 'WordPressSkuCache',
    final: 'wordpress_sku_cache',
    rewrite: false,
    indexes: {},
    checks: ["jsonb_typeof(skus) = 'array' and total_count >= 0"],
  },
];

const finalColumn = (table: string, column: string) => PLAN.columns[table]?.[column] ?? column;

async function columnsOf(sql: Sql, table: string) {
  return sql<{ name: string; type: string }[]>`
    select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
     where attrelid = ${`"${table}"`}::regclass and attnum > 0 and not attisdropped order by attnum`;
}

/** The migration's conversions: legacy UTC timestamps -> timestamptz, double money -> numeric(12,2). */
function forward(table: string, column: string, type: string): string {
  const source = `"${column}"`;
  const value =
    type === 'double precision'
      ? `${source}::numeric(12, 2)`
      : type.startsWith('timestamp(3) without time zone')
        ? `(${source} at time zone 'UTC')`
        : source;
  return `${value} as "${finalColumn(table, column)}"`;
}

const indexStatement = (table: string, name: string, definition: string) =>
  `create ${definition.startsWith('unique ') ? 'unique ' : ''}index "${name}" on "${table}" ${definition.replace(/^unique /, '')}`;

/** The restructuring floor's statements, read against the legacy database it will run on. */
export async function floorStatements(sql: Sql): Promise<string[]> {
  const statements: string[] = [];
  for (const table of FLOOR_TABLES) {
    const columns = await columnsOf(sql, table.legacy);
    const added = Object.entries(table.added ?? {});
    if (table.rewrite) {
      const select = [...columns.map((c) => forward(table.final, c.name, c.type)), ...added.map(([name, type]) => `null::${type} as "${name}"`)];
      statements.push(`create table "${table.final}" as select ${select.join(', ')} from "${table.legacy}"`);
      statements.push(`drop table "${table.legacy}" cascade`);
    } else {
      // catalogue only: so that the index definitions and checks read as in the final schema
      statements.push(`alter table "${table.legacy}" rename to "${table.final}"`);
      for (const c of columns) {
        if (finalColumn(table.final, c.name) !== c.name) statements.push(`alter table "${table.final}" rename column "${c.name}" to "${finalColumn(table.final, c.name)}"`);
      }
      for (const [name, type] of added) statements.push(`alter table "${table.final}" add column "${name}" ${type}`);
    }
    for (const [name, definition] of Object.entries(table.indexes)) statements.push(indexStatement(table.final, name, definition));
    if (table.checks?.length) statements.push(`select count(*) from "${table.final}" where not (${table.checks.map((c) => `(${c})`).join(' and ')})`);
  }
  statements.push('drop table "refresh_tokens", "DilovodData", "SalesDriveData"');
  return statements;
}

/** The rollback floor's statements: on a restructured database, the legacy tables and indexes as `legacy` has them. */
export async function rollbackFloorStatements(sql: Sql, legacy: Sql): Promise<string[]> {
  const statements: string[] = [];
  for (const table of FLOOR_TABLES) {
    const columns = await columnsOf(legacy, table.legacy);
    const select = columns.map((c) => {
      const source = `"${finalColumn(table.final, c.name)}"`;
      const value =
        c.type === 'double precision'
          ? `${source}::double precision`
          : c.type.startsWith('timestamp(3) without time zone')
            ? `(${source} at time zone 'UTC')::timestamp(3)`
            : source;
      return `${value} as "${c.name}"`;
    });
    statements.push(`create table "${table.legacy}_floor" as select ${select.join(', ')} from "${table.final}"`);
    statements.push(`drop table "${table.final}" cascade`);
    const indexes = await legacy<{ name: string; definition: string }[]>`
      select indexname as name, indexdef as definition from pg_indexes where schemaname = 'public' and tablename = ${table.legacy} order by 1`;
    for (const { name, definition } of indexes) {
      statements.push(definition.replace(`"${name}"`, `"${name}_floor"`).replace(`public."${table.legacy}"`, `public."${table.legacy}_floor"`));
    }
  }
  return statements;
}

export interface FloorResult {
  seconds: number;
  steps: TimedStatement[];
  observation: Observation;
}

/** Runs floor statements (made by `statements` on the database) on `database` in one transaction, watched. */
export async function runFloor(database: string, statements: (sql: Sql) => Promise<string[]>): Promise<FloorResult> {
  return withDatabase(database, async (sql) => {
    const list = await statements(sql);
    const watching = await watch(database, new Map());
    const started = performance.now();
    try {
      const steps = await timedTransaction(sql, list);
      return { seconds: (performance.now() - started) / 1000, steps, observation: await watching.stop() };
    } catch (error) {
      await watching.stop();
      throw error;
    }
  });
}
