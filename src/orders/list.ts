/** The list of orders: its sorts and filters, an order's neighbours in it, and its counts per status. */
import { and, asc, count, desc, eq, gte, ilike, inArray, lte, ne, sql, sum, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { afterCursor, type ListQuery } from '../db/pages.js';
import { orders, orderSearchText, orderStatusCounts } from '../db/schema.js';
import { containing, Name, OneOf } from '../schemas.js';
import { Phone, SyncStatus } from './shapes.js';
import { OrderStatus, STATUS_TEXT } from './statuses.js';

export const sorts = { createdAt: orders.createdAt, orderDate: orders.orderDate, lastSynced: orders.lastSynced };
export type Sort = keyof typeof sorts;
// (Object.keys names them as strings)
/** The list's order when the query names none: newest first (with PAGE_DEFAULTS.order). */
export const DEFAULT_SORT: Sort = 'createdAt';
export const SortName = OneOf(
  Object.keys(sorts).filter((name): name is Sort => name in sorts),
  { default: DEFAULT_SORT },
);

/** The list's filters: the list itself, its counts (status aside) and an order's neighbours take them. */
export const { status: statusFilter, ...filtersButStatus } = {
  status: Type.Array(OrderStatus, { maxItems: 20, description: 'one or several statuses' }),
  syncStatus: Type.Array(SyncStatus, { maxItems: 3 }),
  customerPhone: Phone,
  externalId: Type.Array(Name(100), { maxItems: 100, description: 'one or several external ids' }),
  q: Type.String({
    minLength: 3,
    maxLength: 100,
    pattern: '^[^\\u0000-\\u001f]+$',
    description: 'order number, TTN, customer name or customer phone contains this (3 characters or more), ignoring case',
  }),
  from: Type.String({ format: 'date-time', description: 'the sort column is at or after this instant' }),
  to: Type.String({ format: 'date-time', description: 'the sort column is at or before this instant' }),
};
export const filters = { status: statusFilter, ...filtersButStatus };
export type Filters = ListQuery<typeof filters, typeof sorts>;

export function where(q: Filters): (SQL | undefined)[] {
  const column = sorts[q.sort];
  return [
    q.status ? inArray(orders.status, q.status) : undefined,
    q.syncStatus ? inArray(orders.syncStatus, q.syncStatus) : undefined,
    q.customerPhone ? eq(orders.customerPhone, q.customerPhone) : undefined,
    q.externalId ? inArray(orders.externalId, q.externalId) : undefined,
    // the expression of the trigram index orders_search_idx, as it is
    q.q ? ilike(orderSearchText(orders), containing(q.q)) : undefined,
    q.from ? gte(column, new Date(q.from)) : undefined,
    q.to ? lte(column, new Date(q.to)) : undefined,
  ];
}

/** The id of the first order past `row` in the list of this sort and filters, going `order`. */
export async function neighbour(db: Db, row: Record<string, unknown>, query: Filters, order: 'asc' | 'desc') {
  const column = sorts[query.sort];
  const value = row[query.sort];
  const direction = order === 'desc' ? desc : asc;
  const [found] = await db
    .select({ id: orders.id })
    .from(orders)
    .where(
      and(...where(query), afterCursor(column, orders.id, order, { v: value instanceof Date ? value.toISOString() : null, id: row.id })),
    )
    .orderBy(direction(column), direction(orders.id))
    .limit(1);
  return found?.id ?? null;
}

/**
 * How many orders of the list (its filters, status aside) each status has: every known status (0 when none), and any other found.
 * Without filters, the sums kept in order_status_counts (a few rows, whatever the table's size); with one, a count of the orders.
 */
export async function countByStatus(db: Db, query: Filters) {
  const filtered = Object.keys(filtersButStatus).some((name) => query[name as keyof typeof filtersButStatus] !== undefined);
  const rows = filtered
    ? await db
        .select({ status: orders.status, n: count() })
        .from(orders)
        .where(and(...where(query)))
        .groupBy(orders.status)
    : await db
        .select({ status: orderStatusCounts.status, n: sum(orderStatusCounts.n).mapWith(Number) })
        .from(orderStatusCounts)
        .groupBy(orderStatusCounts.status)
        .having(({ n }) => ne(n, 0));
  const byStatus: Record<string, number> = Object.fromEntries(Object.keys(STATUS_TEXT).map((status) => [status, 0]));
  for (const { status, n } of rows) byStatus[status] = Number(n);
  return { total: rows.reduce((sum, { n }) => sum + Number(n), 0), byStatus };
}

/** One order by id, read like every resource's read: prepared once (building the SQL was a third of a read's CPU). */
export const prepareOrderRead = (db: Db, columns: Record<string, PgColumn>) =>
  db
    .select(columns)
    .from(orders)
    .where(eq(orders.id, sql.placeholder('id')))
    .prepare('orders_read_view');
