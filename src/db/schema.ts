/**
 * The six tables of the back office. SQL names are snake_case (drizzle's `casing: 'snake_case'`),
 * TypeScript names camelCase. Every constraint and index is named explicitly: drizzle-kit diffs by
 * name, and the names must be the same whether a database was restructured from the legacy Prisma
 * schema or created empty. Each index names the query it serves; an index that serves none is not
 * here. Checks are added `NOT VALID` by the migrations (old rows are kept, new bad rows refused) and
 * validated in the same migration when every existing row passes.
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const ROLES = ['admin', 'boss', 'shop-manager', 'ads-manager', 'storekeeper', 'user'] as const;
export const isRole = (value: unknown): value is Role => ROLES.some((role) => role === value);
export type Role = (typeof ROLES)[number];

export const SYNC_STATUSES = ['pending', 'success', 'error'] as const;
export const HISTORY_SOURCES = ['webhook', 'manual', 'salesdrive'] as const;

/**
 * UTC instants. Plain `timestamptz`: converting the legacy `TIMESTAMP(3)` to it rewrites no table
 * (`timestamptz(3)` would). Values keep the legacy millisecond precision (defaults and the service
 * write milliseconds), so that `npm run db:rollback` can carry every one of them back.
 */
const timestamptz = () => timestamp({ withTimezone: true, mode: 'date' });
/** The current instant to the millisecond, what a legacy `TIMESTAMP(3)` column holds. */
export const nowMs = sql`date_trunc('milliseconds', now())`;
/** Money in hryvnias and kopecks: exact, never floating point; JSON carries it as a decimal string. */
const money = () => numeric({ precision: 12, scale: 2 });

const createdAt = () => timestamptz().notNull().default(nowMs);
const updatedAt = () =>
  timestamptz()
    .notNull()
    .default(nowMs)
    .$onUpdate(() => new Date());

/**
 * One refresh-token session, as `users.sessions` holds it. Only SHA-256 hashes (hex) of tokens are
 * stored; `previousHash` is the token this one replaced at `rotatedAt`, to recognise a replay.
 * Times are ISO 8601 strings.
 */
export interface StoredSession {
  id: string;
  hash: string;
  previousHash: string | null;
  expiresAt: string;
  rotatedAt: string | null;
  createdAt: string;
  device: string | null;
}

/**
 * Login attempts, counted where every replica sees them (the rate-limit store, db/rate-limit-store.ts).
 * UNLOGGED (written by hand into its migration: drizzle-kit has no word for it): counters are
 * not worth a WAL write, and a crash that empties them only forgives a minute of attempts.
 */
export const rateLimits = pgTable('rate_limits', {
  key: text().primaryKey(),
  hits: integer().notNull(),
  expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
});

const oneOf = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

export const users = pgTable(
  'users',
  {
    id: serial().primaryKey(),
    email: text().notNull(),
    name: text(),
    role: text().notNull(),
    roleName: text(),
    passwordHash: text().notNull(),
    isActive: boolean().notNull().default(true),
    lastActivityAt: timestamptz(),
    lastLoginAt: timestamptz(),
    /** The user's refresh-token sessions, at most MAX_SESSIONS_PER_USER (auth/sessions.ts). */
    sessions: jsonb()
      .$type<StoredSession[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    /** Raised when the claims of issued access tokens go stale (role, deactivation, password). */
    tokenVersion: integer().notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // one account per address, whatever its case
    uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
    // login: WHERE lower(btrim(email)) = $1, which finds a legacy address with spaces around it too (auth/logins.ts)
    index('users_email_trimmed_idx').on(sql`lower(btrim(${t.email}))`),
    // refresh: WHERE sessions @> '[{"hash": $1}]' (and of a replayed token: '[{"previousHash": $1}]')
    index('users_sessions_idx').using('gin', sql`${t.sessions} jsonb_path_ops`),
    check('users_role_check', sql`${t.role} IN (${oneOf(ROLES)})`),
    check('users_email_check', sql`${t.email} = btrim(${t.email}) AND ${t.email} LIKE '_%@_%'`),
  ],
);

/**
 * What GET /orders?q= searches, as one text: order number, TTN, customer name and phone, a line
 * break between them (which q may not hold, so that no match straddles two fields). The trigram
 * index below is on this very expression, so the query must use it as it is.
 */
export const orderSearchText = (t: { orderNumber: AnyPgColumn; ttn: AnyPgColumn; customerName: AnyPgColumn; customerPhone: AnyPgColumn }) =>
  sql`(${t.orderNumber} || chr(10) || ${t.ttn} || chr(10) || coalesce(${t.customerName}, '') || chr(10) || coalesce(${t.customerPhone}, ''))`;

export const orders = pgTable(
  'orders',
  {
    /** The SalesDrive order id. */
    id: text().primaryKey(),
    externalId: text().notNull(),
    orderNumber: text().notNull(),
    ttn: text().notNull(),
    quantity: integer().notNull(),
    /** SalesDrive status id: 1 new … 8 deleted. */
    status: text().notNull(),
    statusText: text().notNull(),
    items: jsonb().notNull(),
    rawData: jsonb().notNull(),
    customerName: text(),
    customerPhone: text(),
    deliveryAddress: text(),
    cityName: text(),
    paymentMethod: text(),
    shippingMethod: text(),
    provider: text(),
    totalPrice: money(),
    orderDate: timestamptz(),
    syncStatus: text().notNull().default('pending'),
    syncError: text(),
    lastSynced: timestamptz().notNull().default(nowMs),
    /** SalesDrive's `updateAt` of the newest webhook delivery applied (UTC): an older delivery changes nothing. */
    salesdriveUpdatedAt: timestamptz(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // look-up by external_id, one or many (= ANY($1))
    uniqueIndex('orders_external_id_key').on(t.externalId),
    // The four indexes of the list's orders also carry the searched fields and the status (INCLUDE, which
    // drizzle-kit cannot say: drizzle/0011_search_covering_indexes.sql), for the search's walk to read them alone.
    // list by status, newest created_at first, keyset on (created_at, id); counts by status
    index('orders_status_created_at_idx').on(t.status, t.createdAt, t.id),
    // list without a status filter, newest created_at first, keyset on (created_at, id)
    index('orders_created_at_idx').on(t.createdAt, t.id),
    // list newest order_date first, keyset on (order_date, id)
    index('orders_order_date_idx').on(t.orderDate, t.id),
    // last_synced >= $1 newest first, keyset on (last_synced, id)
    index('orders_last_synced_idx').on(t.lastSynced, t.id),
    // filter and counts by sync_status
    index('orders_sync_status_idx').on(t.syncStatus),
    // search by customer phone
    index('orders_customer_phone_idx').on(t.customerPhone),
    // q: order number, TTN, customer name or phone contains the text, ignoring case (ILIKE '%…%'); pg_trgm
    index('orders_search_idx').using('gin', sql`${orderSearchText(t)} gin_trgm_ops`),
    check('orders_quantity_check', sql`${t.quantity} >= 0`),
    check('orders_total_price_check', sql`${t.totalPrice} >= 0`),
    check('orders_items_check', sql`jsonb_typeof(${t.items}) = 'array'`),
    check('orders_sync_status_check', sql`${t.syncStatus} IN (${oneOf(SYNC_STATUSES)})`),
  ],
);

export const orderHistory = pgTable(
  'order_history',
  {
    id: text()
      .primaryKey()
      .default(sql`gen_random_uuid()::text`),
    orderId: text().notNull(),
    status: text().notNull(),
    statusText: text().notNull(),
    changedAt: timestamptz().notNull().default(nowMs),
    source: text().notNull(),
    userId: integer(),
    notes: text(),
  },
  (t) => [
    // an order's history, newest changed_at first; also serves the cascade from orders
    index('order_history_order_id_changed_at_idx').on(t.orderId, t.changedAt),
    // list newest first, keyset on (changed_at, id); purge of rows older than a date
    index('order_history_changed_at_idx').on(t.changedAt, t.id),
    // list filtered by user_id; and deleting a user (ON DELETE SET NULL) finds its rows
    index('order_history_user_id_idx').on(t.userId),
    foreignKey({ name: 'order_history_order_id_fkey', columns: [t.orderId], foreignColumns: [orders.id] })
      .onDelete('cascade')
      .onUpdate('cascade'),
    foreignKey({ name: 'order_history_user_id_fkey', columns: [t.userId], foreignColumns: [users.id] })
      .onDelete('set null')
      .onUpdate('cascade'),
    check('order_history_source_check', sql`${t.source} IN (${oneOf(HISTORY_SOURCES)})`),
  ],
);

export const products = pgTable(
  'products',
  {
    id: serial().primaryKey(),
    sku: text().notNull(),
    name: text().notNull(),
    costPerItem: money(),
    currency: text().notNull().default('UAH'),
    categoryId: integer(),
    categoryName: text(),
    set: jsonb(),
    additionalPrices: jsonb(),
    stockBalanceByStock: jsonb(),
    dilovodId: text(),
    parent: text(),
    /** Grams. The shop's own: the Dilovod sync never writes it. */
    weight: integer(),
    /** What the packing station scans (Dilovod's barCodes register). */
    barcode: text(),
    /** When a complete Dilovod sync last found the product gone from Dilovod; null while it is there. */
    outdatedAt: timestamptz(),
    lastSyncAt: timestamptz().notNull().default(nowMs),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // look-up by sku
    uniqueIndex('products_sku_key').on(t.sku),
    // filter and counts by category_name
    index('products_category_name_idx').on(t.categoryName),
    // list newest last_sync_at first
    index('products_last_sync_at_idx').on(t.lastSyncAt, t.id),
    check('products_cost_per_item_check', sql`${t.costPerItem} >= 0`),
    check('products_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

export const boxSettings = pgTable(
  'box_settings',
  {
    id: serial().primaryKey(),
    name: text().notNull(),
    marking: text().notNull(),
    /** The box holds qnt_from … qnt_to portions, and overflow more at a pinch. */
    qntFrom: integer().notNull(),
    qntTo: integer().notNull(),
    width: integer().notNull(),
    height: integer().notNull(),
    length: integer().notNull(),
    overflow: integer().notNull().default(1),
    /** Kilograms. */
    weight: numeric({ precision: 10, scale: 2 }).notNull(),
    selfWeight: numeric({ precision: 10, scale: 2 }).notNull(),
    description: text(),
    /** What the packing station scans on the box. */
    barcode: text(),
    isActive: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('box_settings_portions_check', sql`${t.qntFrom} >= 0 AND ${t.qntFrom} <= ${t.qntTo} AND ${t.overflow} >= 0`),
    check(
      'box_settings_size_check',
      sql`${t.width} > 0 AND ${t.height} > 0 AND ${t.length} > 0 AND ${t.weight} >= 0 AND ${t.selfWeight} >= 0`,
    ),
  ],
);

export const wordpressSkuCache = pgTable(
  'wordpress_sku_cache',
  {
    id: serial().primaryKey(),
    skus: jsonb().notNull(),
    lastUpdated: timestamptz().notNull().default(nowMs),
    totalCount: integer().notNull().default(0),
  },
  (t) => [check('wordpress_sku_cache_skus_check', sql`jsonb_typeof(${t.skus}) = 'array' AND ${t.totalCount} >= 0`)],
);

/**
 * The shop's settings that an admin changes through the API (GET/PATCH /api/v1/shop-settings): one
 * row, id 1. The weight check's tolerance: a parcel may differ from its expected weight by the
 * larger of the percentage and the absolute amount.
 */
export const shopSettings = pgTable(
  'shop_settings',
  {
    id: integer().primaryKey().default(1),
    weightTolerancePercent: numeric({ precision: 5, scale: 2 }).notNull().default('5.00'),
    /** Grams. */
    weightToleranceGrams: integer().notNull().default(50),
    /** When an admin last changed them; null: never, the defaults. */
    updatedAt: timestamptz().$onUpdate(() => new Date()),
  },
  (t) => [
    check('shop_settings_one_row_check', sql`${t.id} = 1`),
    check(
      'shop_settings_weight_tolerance_check',
      sql`${t.weightTolerancePercent} >= 0 AND ${t.weightTolerancePercent} <= 100 AND ${t.weightToleranceGrams} >= 0`,
    ),
  ],
);

export const CATALOGUE_SYNC_STATES = ['queued', 'running', 'succeeded', 'failed', 'refused'] as const;
export const CATALOGUE_SYNC_TRIGGERS = ['schedule', 'manual'] as const;

/**
 * The runs of the catalogue sync from Dilovod (src/catalogue/sync.ts): what started each, its state,
 * what it found and how long it took. A run that is not finished holds null counts.
 */
export const catalogueSyncRuns = pgTable(
  'catalogue_sync_runs',
  {
    id: text()
      .primaryKey()
      .default(sql`gen_random_uuid()::text`),
    trigger: text().notNull(),
    /** The admin who asked for it (manual runs). */
    requestedBy: integer(),
    /** Apply even when more than DILOVOD_MAX_CHANGE_SHARE of the catalogue would go (an admin's explicit choice). */
    allowLargeChange: boolean().notNull().default(false),
    state: text().notNull().default('queued'),
    created: integer(),
    changed: integer(),
    unchanged: integer(),
    outdated: integer(),
    error: text(),
    queuedAt: timestamptz().notNull().default(nowMs),
    startedAt: timestamptz(),
    /** Written while the run works: a run whose process died is recognised by a heartbeat long past. */
    heartbeatAt: timestamptz(),
    finishedAt: timestamptz(),
  },
  (t) => [
    // the list, newest first, keyset on (queued_at, id)
    index('catalogue_sync_runs_queued_at_idx').on(t.queuedAt, t.id),
    foreignKey({ name: 'catalogue_sync_runs_requested_by_fkey', columns: [t.requestedBy], foreignColumns: [users.id] })
      .onDelete('set null')
      .onUpdate('cascade'),
    check('catalogue_sync_runs_state_check', sql`${t.state} IN (${oneOf(CATALOGUE_SYNC_STATES)})`),
    check('catalogue_sync_runs_trigger_check', sql`${t.trigger} IN (${oneOf(CATALOGUE_SYNC_TRIGGERS)})`),
  ],
);

/**
 * How far each feed that pulls from a third party has read, kept across restarts and shared by
 * the replicas: `salesdrive-order-list`, the newest `updateAt` the reconciliation has read
 * completely (src/salesdrive/reconcile.ts).
 */
export const feedMarks = pgTable('feed_marks', {
  name: text().primaryKey(),
  mark: timestamptz().notNull(),
  updatedAt: updatedAt(),
});

/**
 * How many orders each status has, kept by triggers on orders in the writing transaction
 * (migration 0010), so that GET /orders/counts reads a few rows, not the whole table. A status's
 * count is the sum of its slots: each connection adds to the slot of its backend pid, so that
 * concurrent webhooks do not queue on one row.
 */
export const orderStatusCounts = pgTable(
  'order_status_counts',
  {
    status: text().notNull(),
    slot: smallint().notNull(),
    n: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.status, t.slot] })],
);
