/**
 * A page of GET /orders?q=, read so that its cost follows the matches, whatever the planner guesses
 * of them (issue 26). Two ways find a page: walking the list in its order and testing each order,
 * which is quick when matches are many near the top (the list's indexes carry the fields it tests,
 * migration 0011: it reads an index alone); and looking the matches up in the trigram index and
 * sorting them, which is quick when they are few and the index tells them well (a name; not four
 * digits, whose two trigrams most TTNs and phones hold). Which way a q needs is known only
 * once tried, so they race (search-race.ts): each is tried with a bound 4 times its last, the one
 * that has taken less time so far going next. A page costs a few times what the better way alone
 * would have, and never a walk of the whole table for a rare match nor a look-up of every candidate
 * for a common one.
 */
import { and, asc, desc, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Db, type Tx } from '../db/client.js';
import { afterCursor, listPage, pageOf, pastCursor, readCursor, type PageArgs } from '../db/pages.js';
import { PAGE_DEFAULTS } from '../schemas.js';
import { orders } from '../db/schema.js';
import { searchMatch, where, type Filters } from './list.js';
import { race } from './search-race.js';

/** Turns a plan type off or on for the rest of the transaction. */
const plans = (on: { seqscan: boolean; indexscan: boolean; bitmapscan: boolean }) =>
  sql.join(
    Object.entries(on).map(([name, value]) => sql`set_config(${`enable_${name}`}, ${value ? 'on' : 'off'}, true)`),
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

/** listPage, for the list of orders: with q, found by the tries above, in one transaction for their plans. */
export async function ordersPage(db: Db, ...[options, query, conditions, filters]: [...PageArgs, Filters]) {
  const prepared =
    options.sortColumn.notNull && Object.entries(filters).every(([name, value]) => value === undefined || PREPARED_FILTERS.has(name));
  if (prepared) return preparedPage(db, options, query, filters.status ?? []);
  if (!filters.q) return listPage(db, options, query, conditions);
  const order = query.order ?? PAGE_DEFAULTS.order;
  const wanted = (query.limit ?? PAGE_DEFAULTS.limit) + 1;
  const after = pastCursor(options, query);
  const direction = order === 'desc' ? desc : asc;
  const listOrder = sql`${direction(options.sortColumn)}, ${direction(orders.id)}`;
  // every other filter, and the cursor: what the walk goes through in the list's order
  const others = and(...where({ ...filters, q: undefined }), after) ?? sql`true`;
  const match = searchMatch(filters.q);

  const search = async (tx: Tx) => {
    /** The first `wanted` matches among the list's first `bound` orders (it stops there); undefined when fewer and the list goes on. */
    async function walk(bound: number) {
      const walked = sql`select ${orders.id} as id, ${match} as hit from ${orders} where ${others} order by ${listOrder} limit ${bound}`;
      // the bound's last order comes back whether it matches or not: it says the list went on that far
      const rows = rowsOf<{ id: string; hit: boolean; n: number }>(
        await tx.execute(
          sql`select id, hit, n from (select id, hit, (row_number() over ())::int as n from (${walked}) walked) numbered where hit or n = ${bound} limit ${wanted + 1}`,
        ),
      );
      const ids = rows.filter((row) => row.hit).map((row) => row.id);
      return ids.length >= wanted || !rows.some((row) => row.n === bound) ? ids.slice(0, wanted) : undefined;
    }
    /** The first `wanted` matches in the list's order, when there are at most `bound` of them; undefined when more. */
    async function lookUp(bound: number) {
      // bitmap scans alone for the look-up (a walk planned as the list alone is), back after it
      await tx.execute(sql`select ${plans({ seqscan: false, indexscan: false, bitmapscan: true })}`);
      const found = sql`select ${orders.id} as id, ${options.sortColumn} as v from ${orders} where ${and(...conditions, after)} limit ${bound + 1}`;
      const [looked] = rowsOf<{ ids: string[] | null }>(
        await tx.execute(
          sql`with found as (${found}) select case when (select count(*) from found) > ${bound} then null else array(select id from found order by v ${sql.raw(order)}, id ${sql.raw(order)} limit ${wanted}) end as ids, ${plans({ seqscan: true, indexscan: true, bitmapscan: true })}`,
        ),
      );
      return looked!.ids ?? undefined;
    }
    const ids = await race([walk, lookUp]);
    const page = await listPage(tx, options, query, [...conditions, sql`${orders.id} = ANY(${sql.param(ids)}::text[])`]);
    // an order changed since it was found, and no longer matches: the page as the list has it, the slow way
    return page.items.length + (page.nextCursor ? 1 : 0) < ids.length ? listPage(tx, options, query, conditions) : page;
  };
  // read committed, no SET TRANSACTION (a round trip less): the page applies every condition again
  return db.transaction(search);
}
