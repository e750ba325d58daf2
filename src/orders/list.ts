/** The list of orders: its sorts and filters, an order's neighbours in it, and its counts per status. */
import {
  and,
  asc,
  count,
  desc,
  eq,
  gte,
  ilike,
  inArray,
  isNotNull,
  isNull,
  like,
  lte,
  ne,
  or,
  sql,
  sum,
  type Placeholder,
  type SQL,
} from 'drizzle-orm';
import { alias, type PgColumn } from 'drizzle-orm/pg-core';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { StatementsByShape } from '../db/statements.js';
import { afterCursor, publicColumns, type ListQuery } from '../db/pages.js';
import { orderHistory, orders, orderSearchText, orderStatusCounts, users } from '../db/schema.js';
import { comparisonOf, containing, Name, OneOf } from '../schemas.js';
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

/** The most statuses one list asks for at once. */
export const MAX_STATUSES = 20;

/** The list's filters: the list itself, its counts (status aside) and an order's neighbours take them. */
export const { status: statusFilter, ...filtersButStatus } = {
  status: Type.Array(OrderStatus, { maxItems: MAX_STATUSES, description: 'one or several statuses' }),
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

/**
 * Orders whose order number, TTN, customer name or phone match `pattern` (`containing(q)`, or a
 * placeholder for it): the expression of the trigram index orders_search_idx, as it is.
 */
export const searchMatch = (pattern: string | Placeholder, comparison: 'like' | 'ilike') =>
  (comparison === 'like' ? like : ilike)(orderSearchText(orders), pattern);

export function where(q: Filters): (SQL | undefined)[] {
  const column = sorts[q.sort];
  return [
    q.status ? inArray(orders.status, q.status) : undefined,
    q.syncStatus ? inArray(orders.syncStatus, q.syncStatus) : undefined,
    q.customerPhone ? eq(orders.customerPhone, q.customerPhone) : undefined,
    q.externalId ? inArray(orders.externalId, q.externalId) : undefined,
    q.q ? searchMatch(containing(q.q), comparisonOf(q.q)) : undefined,
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

/** The sums order_status_counts keeps, per status, taken as PostgreSQL names them (`sum`): drizzle's mapping was 4 % of a count's CPU. */
const statusSums = new StatementsByShape<undefined>('order_status_counts_sums', (db) =>
  db
    .select({ status: orderStatusCounts.status, n: sum(orderStatusCounts.n) })
    .from(orderStatusCounts)
    .groupBy(orderStatusCounts.status)
    .having(({ n }) => ne(n, 0))
    .getSQL(),
);

const FILTERS_BUT_STATUS = Object.keys(filtersButStatus) as (keyof typeof filtersButStatus)[];
/** Every known status, at 0: where a count starts. */
const NO_ORDERS: Record<string, number> = Object.fromEntries(Object.keys(STATUS_TEXT).map((status) => [status, 0]));

/**
 * How many orders of the list (its filters, status aside) each status has: every known status (0 when none), and any other found.
 * Without filters, the sums kept in order_status_counts (a few rows, whatever the table's size), by a statement prepared once
 * (the station asks on every screen: building it and parsing it anew were a third of the request's CPU); with one, a count of the orders.
 */
export function prepareCountByStatus(db: Db) {
  return async (query: Filters) => {
    const byStatus: Record<string, number> = { ...NO_ORDERS };
    let total = 0;
    const add = (status: string, n: number | string) => {
      byStatus[status] = Number(n);
      total += Number(n);
    };
    if (FILTERS_BUT_STATUS.some((name) => query[name] !== undefined)) {
      const rows = await db
        .select({ status: orders.status, n: count() })
        .from(orders)
        .where(and(...where(query)))
        .groupBy(orders.status);
      for (const { status, n } of rows) add(status, n);
    } else {
      for (const { status, sum } of await statusSums.run<{ status: string; sum: string }>(db, 'all', undefined, {})) add(status, sum);
    }
    return { total, byStatus };
  };
}

/**
 * One order by id, read like every resource's read (src/routes/crud.ts): built once, its row mapped without drizzle's
 * per-row look-ups. The statement is the reader's own, so the columns it selects are the columns its rows are mapped to.
 */
export function prepareOrderRead(db: Db, columns: Record<string, PgColumn>) {
  const reads = new StatementsByShape<undefined>('orders_read', (db) =>
    db
      .select(columns)
      .from(orders)
      .where(eq(orders.id, sql.placeholder('id')))
      .getSQL(),
  );
  return async (id: string) => (await reads.run<Record<string, unknown>>(db, 'by_id', undefined, { id }, columns))[0];
}

/** The order a one-call view (GET /orders/:id?include=history) reads: its neighbours are orders of the list past it. */
const viewed = alias(orders, 'viewed');

/**
 * SQL: the id of the first order past `viewed` in the list of this sort and filters, going `order`
 * (as afterCursor pages it: descending puts NULLs first, ascending last).
 */
function neighbourOfViewed(query: Filters, order: 'asc' | 'desc'): SQL {
  const column = sorts[query.sort];
  const value = viewed[query.sort];
  const direction = order === 'desc' ? desc : asc;
  const past = order === 'desc' ? sql`<` : sql`>`;
  const first = (condition: SQL | undefined) =>
    sql`(select ${orders.id} from ${orders} where ${and(...where(query), condition)} order by ${direction(column)}, ${direction(orders.id)} limit 1)`;
  const inValues = sql`(${column}, ${orders.id}) ${past} (${value}, ${viewed.id})`;
  if (column.notNull) return first(inValues);
  const inNulls = and(isNull(column), sql`${orders.id} ${past} ${viewed.id}`);
  // each branch a condition the index of the sort serves; CASE runs only the one that applies
  return sql`case when ${value} is null then ${first(order === 'desc' ? or(inNulls, isNotNull(column)) : inNulls)} else ${first(order === 'desc' ? inValues : or(inValues, isNull(column)))} end`;
}

interface HistoryJson {
  changedAt: string;
}

/** The latest `limit` entries of the viewed order's history, newest first, each with its user's name: one JSON array. */
function historyOfViewed(columns: Record<string, PgColumn>, limit: SQL) {
  const fields = sql.join(
    Object.entries({ ...columns, userName: users.name }).map(([key, column]) => sql`${sql.raw(`'${key}'`)}, ${column}`),
    sql`, `,
  );
  const latest = sql.join(
    [
      sql`select json_build_object(${fields}) as entry, ${orderHistory.changedAt} as changed_at, ${orderHistory.id} as id`,
      sql`from ${orderHistory} left join ${users} on ${users.id} = ${orderHistory.userId} where ${orderHistory.orderId} = ${viewed.id}`,
      sql`order by ${orderHistory.changedAt} desc, ${orderHistory.id} desc limit ${limit}`,
    ],
    sql` `,
  );
  return sql`(select coalesce(json_agg(latest.entry order by latest.changed_at desc, latest.id desc), '[]'::json) from (${latest}) latest)`.mapWith(
    // timestamps as every answer gives them (JSON has them in the session's time zone)
    (entries: HistoryJson[]) => entries.map((entry) => ({ ...entry, changedAt: new Date(entry.changedAt).toISOString() })),
  );
}

/**
 * The one-call view of an order: its columns, its latest history and its previous and next order in
 * the list of this sort, order and filters, in one statement (one round trip, which is what a
 * transaction pooler charges for). Without filters, built once per sort and order and named.
 */
export function orderViewReader(db: Db, columns: Record<string, PgColumn>, historyColumns: Record<string, PgColumn>) {
  const viewedColumns = publicColumns(viewed, Type.Object(Object.fromEntries(Object.keys(columns).map((key) => [key, Type.Unknown()]))));
  const history = historyOfViewed(historyColumns, sql`${sql.placeholder('limit')}`);
  const selection = (query: Filters, order: 'asc' | 'desc') => ({
    ...viewedColumns,
    history,
    previousId: neighbourOfViewed(query, order === 'desc' ? 'asc' : 'desc'),
    nextId: neighbourOfViewed(query, order),
  });
  // how a row is mapped: the neighbours' SQL follows the query, their values do not (ids, as they come)
  const mapped = selection({ sort: DEFAULT_SORT }, 'desc');
  const view = (query: Filters, order: 'asc' | 'desc') =>
    db
      .select(selection(query, order))
      .from(viewed)
      .where(eq(viewed.id, sql.placeholder('id')));
  type OrderView = Awaited<ReturnType<typeof view>>[number];
  const views = new StatementsByShape<{ query: Filters; order: 'asc' | 'desc' }>('orders_view', (_db, { query, order }) =>
    view(query, order).getSQL(),
  );
  return async (id: string, query: Filters, order: 'asc' | 'desc', limit: number) => {
    const filtered = Object.keys(filters).some((name) => query[name as keyof typeof filters] !== undefined);
    const [view] = await views.run<OrderView>(db, filtered ? undefined : `${query.sort}_${order}`, { query, order }, { id, limit }, mapped);
    return view;
  };
}
