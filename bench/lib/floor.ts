/**
 * The floors: the least work PostgreSQL must do to reach the same final schema, each run in one
 * transaction on a copy of the database the real command starts from.
 *
 * Restructuring (legacy -> final), in a UTC session: only the tables whose values change
 * representation are written anew: orders and products, whose money goes from double precision to
 * numeric(12,2). timestamp(3) -> plain timestamptz rewrites nothing on PostgreSQL 15, and renames,
 * dropped indexes and added columns (NULL, or a constant default) only touch the catalogue. Each
 * table written anew is written by one ALTER TABLE … TYPE: it keeps the foreign key that
 * order_history holds on orders, which the final schema has validated. Writing a new table instead
 * (CREATE TABLE … AS SELECT, then the old one dropped) costs more, because the key must then be
 * added again and validated: at a million orders, on this machine, CTAS 9.0-9.5 s + its primary key
 * 1.2-1.6 s + validating the key 2.4-2.5 s, against 9.4-9.9 s for the ALTER TABLE, primary key
 * rebuilt included. The rewrite rebuilds the indexes the final schema keeps, verifies the table's
 * checks as it writes the rows, and the other indexes are built once, after it. The other tables
 * get the indexes the final schema adds and are read once to verify the checks it holds validated.
 * The three tables the final schema has not are dropped, and rate_limits created.
 * Index names and definitions follow src/db/schema.ts; bench/migration.ts checks them, and the
 * tables rewritten, against what the real migration did.
 *
 * Rollback (final -> legacy): every table is rewritten, since TIMESTAMP(3) is a typmod that
 * PostgreSQL enforces by a rewrite; the same way (ALTER TABLE … TYPE, which keeps the legacy
 * foreign keys), with every index but the primary keys dropped first and every legacy index built
 * after (read from the legacy database the migration started from). Left out, as catalogue work
 * of no measurable cost: the three dropped tables recreated empty, the legacy defaults.
 */
import { renamedColumns, renamedTables } from '../../src/migrate/drift/plan.js';
import { timedTransaction, withDatabase, type Sql, type TimedStatement } from './pg.js';
import { watch, type Observation } from './monitor.js';

/** The renames of the whole chain, from its plans (drizzle/plans/): legacy table → current, and by current table, legacy column → current. */
const PLAN = { tables: Object.fromEntries(renamedTables().map((t) => [t.legacy, t.current])), columns: renamedColumns() };

interface FloorTable {
  legacy: string;
  final: string;
  /** Whether its rows must be written anew (a column whose values change representation). */
  rewrite: boolean;
  /** Columns the migration adds: name -> type (catalogue only: NULL, or a constant default). */
  added?: Record<string, string>;
  /** Indexes that must be built, name -> definition: the rewrite rebuilds those in `kept`, the others are created. */
  indexes: Record<string, string>;
  /** Legacy indexes the final schema keeps (besides the primary key), legacy name -> final name; the others are dropped. */
  kept?: Record<string, string>;
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
      orders_status_created_at_idx: '(status, created_at, id) include (order_number, ttn, customer_name, customer_phone)',
      orders_created_at_idx: '(created_at, id) include (status, order_number, ttn, customer_name, customer_phone)',
      orders_order_date_idx: '(order_date, id) include (status, order_number, ttn, customer_name, customer_phone)',
      orders_last_synced_idx: '(last_synced, id) include (status, order_number, ttn, customer_name, customer_phone)',
      orders_sync_status_idx: '(sync_status)',
      orders_customer_phone_idx: '(customer_phone)',
    },
    kept: { Order_externalId_key: 'orders_external_id_key', Order_syncStatus_idx: 'orders_sync_status_idx' },
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
    kept: { Product_sku_key: 'products_sku_key' },
    checks: ['cost_per_item >= 0', "currency ~ '^[A-Z]{3}$'"],
  },
  {
    legacy: 'User',
    final: 'users',
    rewrite: false,
    added: { sessions: "jsonb not null default '[]'::jsonb", token_version: 'integer not null default 0' },
    indexes: {
      users_email_key: 'unique (lower(email))',
      users_email_trimmed_idx: '(lower(btrim(email)))',
      users_sessions_idx: 'using gin (sessions jsonb_path_ops)',
    },
    checks: [
      "role in ('admin', 'boss', 'shop-manager', 'ads-manager', 'storekeeper', 'user')",
      "email = btrim(email) and email like '_%@_%'",
    ],
  },
  {
    legacy: 'BoxSettings',
    final: 'box_settings',
    rewrite: false,
    indexes: {},
    checks: [
      'qnt_from >= 0 and qnt_from <= qnt_to and overflow >= 0',
      'width > 0 and height > 0 and length > 0 and weight >= 0 and self_weight >= 0',
    ],
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

/** The tables the final schema adds, empty (catalogue only). */
export const FLOOR_CREATED: Record<string, { definition: string; indexes: string[] }> = {
  rate_limits: {
    definition:
      'create unlogged table "rate_limits" ("key" text primary key not null, "hits" integer not null, "expires_at" timestamp with time zone not null)',
    indexes: ['rate_limits_pkey'],
  },
};

const isLegacyTimestamp = (type: string) => type.startsWith('timestamp(3) without time zone');

const indexStatement = (table: string, name: string, definition: string) =>
  `create ${definition.startsWith('unique ') ? 'unique ' : ''}index "${name}" on "${table}" ${definition.replace(/^unique /, '')}`;

async function indexesOf(sql: Sql, table: string) {
  return sql<{ name: string; definition: string; primary: boolean }[]>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as definition, i.indisprimary as primary
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = ${`"${table}"`}::regclass order by 1`;
}

/** The restructuring floor's statements, read against the legacy database it will run on. */
export async function floorStatements(sql: Sql): Promise<string[]> {
  const statements: string[] = ["set local timezone = 'UTC'"];
  for (const table of FLOOR_TABLES) {
    const columns = await columnsOf(sql, table.legacy);
    const kept = table.kept ?? {};
    // catalogue only: the indexes that go (so that nothing rebuilds them), names as in the final schema
    for (const index of await indexesOf(sql, table.legacy)) {
      if (index.primary) statements.push(`alter index "${index.name}" rename to "${table.final}_pkey"`);
      else if (kept[index.name]) statements.push(`alter index "${index.name}" rename to "${kept[index.name]}"`);
      else statements.push(`drop index "${index.name}"`);
    }
    statements.push(`alter table "${table.legacy}" rename to "${table.final}"`);
    for (const c of columns) {
      if (finalColumn(table.final, c.name) !== c.name)
        statements.push(`alter table "${table.final}" rename column "${c.name}" to "${finalColumn(table.final, c.name)}"`);
    }
    const timestamps = columns
      .filter((c) => isLegacyTimestamp(c.type))
      .map((c) => `alter column "${finalColumn(table.final, c.name)}" type timestamp with time zone`);
    const added = Object.entries(table.added ?? {}).map(([name, type]) => `add column "${name}" ${type}`);
    if (timestamps.length || added.length) statements.push(`alter table "${table.final}" ${[...timestamps, ...added].join(', ')}`);
    if (table.rewrite) {
      // the one write of the table: the money converted, the checks verified row by row
      const money = columns.filter((c) => c.type === 'double precision').map((c) => finalColumn(table.final, c.name));
      statements.push(
        `alter table "${table.final}" ${[
          ...money.map((m) => `alter column "${m}" type numeric(12, 2) using "${m}"::numeric(12, 2)`),
          ...(table.checks ?? []).map((check, i) => `add constraint "floor_${table.final}_${i}" check (${check})`),
        ].join(', ')}`,
      );
    } else if (table.checks?.length) {
      statements.push(`select count(*) from "${table.final}" where not (${table.checks.map((c) => `(${c})`).join(' and ')})`);
    }
    const rebuilt = new Set([`${table.final}_pkey`, ...Object.values(kept)]);
    for (const [name, definition] of Object.entries(table.indexes)) {
      if (!rebuilt.has(name)) statements.push(indexStatement(table.final, name, definition));
    }
  }
  statements.push('drop table "refresh_tokens", "DilovodData", "SalesDriveData"');
  for (const { definition } of Object.values(FLOOR_CREATED)) statements.push(definition);
  return statements;
}

/** The rollback floor's statements: on a restructured database, the legacy tables and indexes as `legacy` has them. */
export async function rollbackFloorStatements(sql: Sql, legacy: Sql): Promise<string[]> {
  const statements: string[] = ["set local timezone = 'UTC'"];
  for (const table of FLOOR_TABLES) {
    const legacyColumns = await columnsOf(legacy, table.legacy);
    const legacyIndexes = await indexesOf(legacy, table.legacy);
    for (const index of await indexesOf(sql, table.final)) {
      const pkey = legacyIndexes.find((i) => i.primary)!;
      statements.push(index.primary ? `alter index "${index.name}" rename to "${pkey.name}"` : `drop index "${index.name}"`);
    }
    const triggers = await sql<{ name: string }[]>`
      select tgname as name from pg_trigger where tgrelid = ${`"${table.final}"`}::regclass and not tgisinternal`;
    for (const trigger of triggers) statements.push(`drop trigger "${trigger.name}" on "${table.final}"`);
    const checks = await sql<{ name: string }[]>`
      select conname as name from pg_constraint where conrelid = ${`"${table.final}"`}::regclass and contype = 'c'`;
    const present = new Set((await columnsOf(sql, table.final)).map((c) => c.name));
    const wanted = new Set(legacyColumns.map((c) => finalColumn(table.final, c.name)));
    const dropped = [...present].filter((c) => !wanted.has(c));
    if (checks.length || dropped.length) {
      statements.push(
        `alter table "${table.final}" ${[...checks.map((c) => `drop constraint "${c.name}"`), ...dropped.map((c) => `drop column "${c}"`)].join(', ')}`,
      );
    }
    statements.push(`alter table "${table.final}" rename to "${table.legacy}"`);
    for (const c of legacyColumns) {
      if (finalColumn(table.final, c.name) !== c.name)
        statements.push(`alter table "${table.legacy}" rename column "${finalColumn(table.final, c.name)}" to "${c.name}"`);
    }
    // the one write of the table
    const types = legacyColumns.flatMap((c) =>
      c.type === 'double precision'
        ? [`alter column "${c.name}" type double precision using "${c.name}"::double precision`]
        : isLegacyTimestamp(c.type)
          ? [`alter column "${c.name}" type timestamp(3) using "${c.name}" at time zone 'UTC'`]
          : [],
    );
    statements.push(`alter table "${table.legacy}" ${types.join(', ')}`);
    for (const index of legacyIndexes) if (!index.primary) statements.push(index.definition);
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
