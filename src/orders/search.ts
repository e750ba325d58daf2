/**
 * A page of GET /orders?q=, read so that its cost does not hang on the planner's guess of how many
 * orders match (issue 26). Prepared once, the query is planned for any q, as if a match were
 * common: it walks the sort's index and tests every order on its way, 0.6 s at 1M orders for a TTN
 * ending that matches one order. So the matches are first looked up in the trigram index, up to
 * RARE of them: when fewer, the page is sorted from those; when more, a match is common enough
 * that walking the sort's index finds a page after at most (orders / RARE) × the page's size.
 */
import { and, asc, desc, inArray, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db, type Tx } from '../db/client.js';
import { afterCursor, listPage, pageOf, readCursor, type PageArgs } from '../db/pages.js';
import { PAGE_DEFAULTS } from '../schemas.js';
import { orders } from '../db/schema.js';
import type { Filters } from './list.js';

/** Up to how many matches are sorted rather than found by walking the sort's index (a bitmap scan and as many look-ups by id). */
export const RARE = 5000;

/** Turns a plan type off or on for the rest of the transaction. */
const plans = (on: { seqscan: boolean; indexscan: boolean; bitmapscan: boolean | SQL }) =>
  sql.join(
    Object.entries(on).map(
      ([name, value]) => sql`set_config(${`enable_${name}`}, ${typeof value === 'boolean' ? (value ? 'on' : 'off') : value}, true)`,
    ),
    sql`, `,
  );

/** The filters a page read by a statement prepared once per shape may have (the station's tabs: by status). */
const PREPARED_FILTERS = new Set(['status', 'sort', 'order', 'limit', 'cursor']);
const preparedPages = new WeakMap<Db, Map<string, ReturnType<typeof pageStatement>>>();

/** A page by status (or none), newest or oldest first by a column without NULLs, with placeholders: the same SQL listPage builds. */
function pageStatement(db: Db, options: PageArgs[0], order: 'asc' | 'desc', statuses: number, cursor: boolean) {
  const direction = order === 'desc' ? desc : asc;
  const placeholders = Array.from({ length: statuses }, (_, i) => sql.placeholder(`s${i}`));
  return db
    .select(options.columns)
    .from(orders)
    .where(
      and(
        statuses ? inArray(orders.status, placeholders) : undefined,
        cursor ? afterCursor(options.sortColumn, orders.id, order, { v: sql.placeholder('v'), id: sql.placeholder('id') }) : undefined,
      ),
    )
    .orderBy(direction(options.sortColumn), direction(orders.id))
    .limit(sql.placeholder('limit'))
    .prepare(`orders_page_${options.sort}_${order}_${statuses}_${cursor ? 'cursor' : 'first'}`);
}

/** listPage, for the list of orders: by status alone, a statement prepared once (building it was a fifth of a page's CPU). */
async function preparedPage(db: Db, options: PageArgs[0], query: PageArgs[1], statuses: string[]) {
  const limit = query.limit ?? PAGE_DEFAULTS.limit;
  const order = query.order ?? PAGE_DEFAULTS.order;
  const cursor = query.cursor ? readCursor(query.cursor, options.sort, order, options.sortColumn, options.idColumn) : undefined;
  const key = `${options.sort}_${order}_${statuses.length}_${cursor ? 'cursor' : 'first'}`;
  const statements = preparedPages.get(db) ?? new Map<string, ReturnType<typeof pageStatement>>();
  preparedPages.set(db, statements);
  let statement = statements.get(key);
  if (!statement) statements.set(key, (statement = pageStatement(db, options, order, statuses.length, cursor !== undefined)));
  const values = Object.fromEntries(statuses.map((status, i) => [`s${i}`, status]));
  const rows = await statement.execute({ ...values, ...(cursor ?? {}), limit: limit + 1 });
  return pageOf(rows, limit, { ...options, order });
}

/** listPage, for the list of orders: with q, its matches looked up first (see above). */
export async function ordersPage(db: Db, ...[options, query, conditions, filters]: [...PageArgs, Filters]) {
  const prepared =
    options.sortColumn.notNull && Object.entries(filters).every(([name, value]) => value === undefined || PREPARED_FILTERS.has(name));
  if (prepared) return preparedPage(db, options, query, filters.status ?? []);
  if (!filters.q) return listPage(db, options, query, conditions);
  const search = async (tx: Tx) => {
    await tx.execute(sql`select ${plans({ seqscan: false, indexscan: false, bitmapscan: true })}`);
    // the matches, and the plans for the page (which the count decides), in one round trip
    const hits = sql`select ${orders.id} from ${orders} where ${and(...conditions)} limit ${RARE + 1}`;
    const bitmaps = sql`case when (select count(*) from hits) > ${RARE} then 'off' else 'on' end`;
    const [found] = rowsOf<{ ids: string[] }>(
      await tx.execute(
        sql`with hits as (${hits}) select array(select id from hits) as ids, ${plans({ seqscan: true, indexscan: true, bitmapscan: bitmaps })}`,
      ),
    );
    const ids = found!.ids;
    if (ids.length <= RARE) return listPage(tx, options, query, [...conditions, sql`${orders.id} = ANY(${sql.param(ids)}::text[])`]);
    return listPage(tx, options, query, conditions);
  };
  // a transaction for the plans alone (read committed, no SET TRANSACTION: a round trip less): the page
  // applies every condition again, so an order changed between the look-up and the page is never wrong on it
  return db.transaction(search);
}
