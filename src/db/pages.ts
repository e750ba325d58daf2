/**
 * Keyset pagination: a page of rows after a cursor in (sort column, id) order, so that page 10,000
 * costs what page 1 costs; the cursor names its sort and order, and a malformed one is a 400.
 */
import { and, asc, desc, getTableColumns, is, isNotNull, isNull, or, Placeholder, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Static, TObject, TSchema } from 'typebox';
import { HttpError } from '../errors.js';
import { PAGE_DEFAULTS } from '../schemas.js';
import type { Db, Tx } from './client.js';

type Row = Record<string, unknown>;

/** A list's query as its `where` sees it: the declared filters, and the sort in effect. */
export type ListQuery<F extends Record<string, TSchema>, S extends Record<string, PgColumn>> = { [K in keyof F]?: Static<F[K]> } & {
  sort: keyof S & string;
};

interface Cursor {
  s: string;
  o: 'asc' | 'desc';
  v: unknown;
  id: unknown;
}

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(text: string, sort: string, order: 'asc' | 'desc'): Cursor {
  try {
    const cursor: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      typeof cursor === 'object' &&
      cursor &&
      's' in cursor &&
      cursor.s === sort &&
      'o' in cursor &&
      cursor.o === order &&
      'v' in cursor &&
      'id' in cursor &&
      cursor.id != null
    ) {
      return { s: sort, o: order, v: cursor.v, id: cursor.id };
    }
  } catch {
    // fall through
  }
  throw new HttpError(400, 'INVALID_CURSOR', 'cursor is not a nextCursor of this list with the same sort and order');
}

/** The value as the column's driver expects it; a malformed cursor value is a 400, not a 500. */
function cursorValue(column: PgColumn, value: unknown) {
  if (value === null || is(value, Placeholder)) return value;
  if (column.dataType === 'date') {
    const date = typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new HttpError(400, 'INVALID_CURSOR', 'cursor is malformed');
    return date;
  }
  if (column.dataType === 'number' && typeof value !== 'number') throw new HttpError(400, 'INVALID_CURSOR', 'cursor is malformed');
  if (column.dataType === 'string' && typeof value !== 'string') throw new HttpError(400, 'INVALID_CURSOR', 'cursor is malformed');
  return value;
}

/**
 * Rows after the cursor in (sort column, id) order. Descending puts NULLs first and ascending
 * last, as a btree on (column, id) returns them, so the index serves every page.
 */
export function afterCursor(column: PgColumn, id: PgColumn, order: 'asc' | 'desc', cursor: Pick<Cursor, 'v' | 'id'>): SQL | undefined {
  const v = cursorValue(column, cursor.v);
  const cid = cursorValue(id, cursor.id);
  const past = order === 'desc' ? sql`<` : sql`>`;
  if (column === id) return sql`${id} ${past} ${sql.param(cid, id)}`;
  if (v === null) {
    const inNulls = and(isNull(column), sql`${id} ${past} ${sql.param(cid, id)}`);
    return order === 'desc' ? or(inNulls, isNotNull(column)) : inNulls;
  }
  const inValues = sql`(${column}, ${id}) ${past} (${sql.param(v, column)}, ${sql.param(cid, id)})`;
  // a NOT NULL column has no NULLs to come after: without the OR, the index range starts at the cursor
  return order === 'desc' || column.notNull ? inValues : or(inValues, isNull(column));
}

export function publicColumns(table: PgTable, item: TObject) {
  const columns = getTableColumns(table);
  return Object.fromEntries(
    Object.keys(item.properties)
      .filter((k) => k in columns)
      .map((k) => [k, columns[k]!]),
  );
}

/** listPage's arguments after the database. */
export type PageArgs = Parameters<typeof listPage> extends [unknown, ...infer Rest] ? Rest : never;

export interface KeysetPage {
  items: Row[];
  nextCursor: string | null;
}

export async function listPage(
  db: Db | Tx,
  options: { table: PgTable; idColumn: PgColumn; columns: Record<string, PgColumn>; sort: string; sortColumn: PgColumn },
  query: { limit?: number; cursor?: string; order?: 'asc' | 'desc' },
  conditions: (SQL | undefined)[],
): Promise<KeysetPage> {
  const limit = query.limit ?? PAGE_DEFAULTS.limit;
  const order = query.order ?? PAGE_DEFAULTS.order;
  const rows = await pageSelect(db, options, order, [...conditions, pastCursor(options, query)], limit + 1);
  return pageOf(rows, limit, { ...options, order });
}

/** The select of a page: the rows that meet `conditions` (the cursor's among them), in the list's order, `rows` of them (a number or a placeholder). */
export function pageSelect(
  db: Db | Tx,
  { table, idColumn, columns, sortColumn }: { table: PgTable; idColumn: PgColumn; columns: Record<string, PgColumn>; sortColumn: PgColumn },
  order: 'asc' | 'desc',
  conditions: (SQL | undefined)[],
  rows: number | Placeholder,
) {
  const direction = order === 'desc' ? desc : asc;
  return db
    .select(columns)
    .from(table)
    .where(and(...conditions))
    .orderBy(...(sortColumn === idColumn ? [direction(idColumn)] : [direction(sortColumn), direction(idColumn)]))
    .limit(rows);
}

/** The rows past the query's cursor, in its list's order (a malformed cursor is a 400); none without one. */
export function pastCursor(
  options: { idColumn: PgColumn; sort: string; sortColumn: PgColumn },
  query: { cursor?: string; order?: 'asc' | 'desc' },
): SQL | undefined {
  if (!query.cursor) return undefined;
  const order = query.order ?? PAGE_DEFAULTS.order;
  return afterCursor(options.sortColumn, options.idColumn, order, decodeCursor(query.cursor, options.sort, order));
}

/** The cursor a list was given, checked against its sort and order, its values as its columns take them. */
export function readCursor(text: string, sort: string, order: 'asc' | 'desc', sortColumn: PgColumn, idColumn: PgColumn) {
  const { v, id } = decodeCursor(text, sort, order);
  return { v: cursorValue(sortColumn, v), id: cursorValue(idColumn, id) };
}

/** A page of the rows read (`limit` + 1 of them, at most): the first `limit`, and the cursor past them when there are more. */
export function pageOf(
  rows: Row[],
  limit: number,
  options: { idColumn: PgColumn; columns: Record<string, PgColumn>; sort: string; sortColumn: PgColumn; order: 'asc' | 'desc' },
): KeysetPage {
  const { idColumn, columns, sort, sortColumn, order } = options;
  const items: Row[] = rows.slice(0, limit);
  const last = items.at(-1);
  const sortKey = Object.keys(columns).find((k) => columns[k] === sortColumn);
  const idKey = Object.keys(columns).find((k) => columns[k] === idColumn)!;
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor({ s: sort, o: order, v: sortKey ? toJsonValue(last[sortKey]) : null, id: last[idKey] })
      : null;
  return { items, nextCursor };
}

const toJsonValue = (value: unknown) => (value instanceof Date ? value.toISOString() : value);
