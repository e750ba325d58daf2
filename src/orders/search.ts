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
import { and, asc, desc, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { afterCursor, listPage, pageOf, pageSelect, pastCursor, readCursor, type PageArgs } from '../db/pages.js';
import { StatementsByShape } from '../db/statements.js';
import { comparisonOf, containing, PAGE_DEFAULTS } from '../schemas.js';
import { orders } from '../db/schema.js';
import type { SearchTry } from '../plugins/metrics.js';
import { MAX_STATUSES, searchMatch, sorts, where, type Filters } from './list.js';
import { race } from './search-race.js';

const placeholder = sql.placeholder;

/** Turns a plan type off or on for the rest of the transaction. */
const plans = (on: { seqscan: boolean; indexscan: boolean; bitmapscan: boolean }) =>
  sql.join(
    Object.entries(on).map(([name, value]) => sql`set_config(${`enable_${name}`}, ${value ? 'on' : 'off'}, true)`),
    sql`, `,
  );

/** The filters a page read by a statement prepared once per shape may have (the station's tabs: by status). */
const PREPARED_FILTERS = new Set(['status', 'sort', 'order', 'limit', 'cursor']);
/** Whether a list's statements can be built once: a sort without NULLs, and no filter but those `allowed`. */
const builtOnce = (options: PageArgs[0], filters: Filters, allowed: Set<string>) =>
  options.sortColumn.notNull && Object.entries(filters).every(([name, value]) => value === undefined || allowed.has(name));

/** A page by status (or none), newest or oldest first by a column without NULLs: the same SQL listPage builds, built once per shape. */
const statusPages = new StatementsByShape<{ options: PageArgs[0]; order: 'asc' | 'desc'; statuses: number; cursor: boolean }>(
  'orders_page',
  (db, { options, order, statuses, cursor }) => {
    const placeholders = Array.from({ length: statuses }, (_, i) => placeholder(`s${i}`));
    const conditions = [
      statuses ? inArray(orders.status, placeholders) : undefined,
      cursor ? afterCursor(options.sortColumn, orders.id, order, { v: placeholder('v'), id: placeholder('id') }) : undefined,
    ];
    return pageSelect(db, options, order, conditions, placeholder('limit')).getSQL();
  },
  // every sort, order (2), number of statuses (none to the filter's most) and cursor or none (2) the schema allows
  { max: Object.keys(sorts).length * 2 * (MAX_STATUSES + 1) * 2 },
);

/** listPage, for the list of orders: by status alone, a statement built once (building it was a fifth of a page's CPU). */
async function statusPage(db: Db, options: PageArgs[0], query: PageArgs[1], statuses: string[]) {
  const limit = query.limit ?? PAGE_DEFAULTS.limit;
  const order = query.order ?? PAGE_DEFAULTS.order;
  const cursor = query.cursor ? readCursor(query.cursor, options.sort, order, options.sortColumn, options.idColumn) : undefined;
  const shape = `${options.sort}_${order}_${statuses.length}_${cursor ? 'cursor' : 'first'}`;
  const values = Object.fromEntries(statuses.map((status, i) => [`s${i}`, status]));
  const context = { options, order, statuses: statuses.length, cursor: cursor !== undefined };
  const rows = await statusPages.run<Record<string, unknown>>(
    db,
    shape,
    context,
    { ...values, ...cursor, limit: limit + 1 },
    options.columns,
  );
  return pageOf(rows, limit, { ...options, order });
}

/** The filters of the station's search box: a search with no others is run by statements built once per shape. */
const SEARCH_BOX_FILTERS = new Set(['q', 'sort', 'order', 'limit', 'cursor']);

/** What a search's statements are built from: their conditions, with placeholders (built once) or values (built for one search). */
interface SearchContext {
  options: PageArgs[0];
  order: 'asc' | 'desc';
  /** Whether an order matches q. */
  match: SQL;
  /** Every other filter, and the cursor: what the walk goes through in the list's order. */
  others: SQL;
  /** Every filter, q's among them: what the look-up and the page test, with the cursor. */
  filters: (SQL | undefined)[];
  after: SQL | undefined;
}

/** The first `wanted` matches among the list's first `bound` orders, and the bound's last order whether it matches or not (it says the list went on that far). */
const walks = new StatementsByShape<SearchContext>(
  'orders_search_walk',
  (_db, { options, order, match, others }) => {
    const direction = order === 'desc' ? desc : asc;
    const walked = sql`select ${orders.id} as id, ${match} as hit from ${orders} where ${others} order by ${direction(options.sortColumn)}, ${direction(orders.id)} limit ${placeholder('bound')}`;
    return sql`select id, hit, n from (select id, hit, (row_number() over ())::int as n from (${walked}) walked) numbered where hit or n = ${placeholder('bound')} limit ${placeholder('walkRows')}`;
  },
  { named: false },
);
/** Plan types off or on for the rest of the transaction. */
const planSettings = new StatementsByShape<boolean>(
  'orders_search_plans',
  (_db, on) => sql`select ${plans({ seqscan: on, indexscan: on, bitmapscan: true })}`,
  { named: false },
);
/** The first `wanted` matches in the list's order, when there are at most `bound` of them (null when more); then every plan type on again. */
const lookUps = new StatementsByShape<SearchContext>(
  'orders_search_look_up',
  (_db, { options, order, filters, after }) => {
    const found = sql`select ${orders.id} as id, ${options.sortColumn} as v from ${orders} where ${and(...filters, after)} limit ${placeholder('candidates')}`;
    return sql`with found as (${found}) select case when (select count(*) from found) > ${placeholder('bound')} then null else array(select id from found order by v ${sql.raw(order)}, id ${sql.raw(order)} limit ${placeholder('wanted')}) end as ids, ${plans({ seqscan: true, indexscan: true, bitmapscan: true })}`;
  },
  { named: false },
);
/** The page of the orders found (those that still match, in the list's order). */
const foundPages = new StatementsByShape<SearchContext>(
  'orders_search_page',
  (db, { options, order, filters, after }) =>
    pageSelect(
      db,
      options,
      order,
      [...filters, sql`${orders.id} = ANY(${placeholder('ids')}::text[])`, after],
      placeholder('rows'),
    ).getSQL(),
  { named: false },
);

/** listPage, for the list of orders: with q, found by the tries above (each told to `tried`), in one transaction for their plans. */
export async function ordersPage(db: Db, ...[options, query, conditions, filters, tried]: [...PageArgs, Filters, tried: SearchTry]) {
  if (builtOnce(options, filters, PREPARED_FILTERS)) return statusPage(db, options, query, filters.status ?? []);
  if (!filters.q) return listPage(db, options, query, conditions);
  const order = query.order ?? PAGE_DEFAULTS.order;
  const limit = query.limit ?? PAGE_DEFAULTS.limit;
  const wanted = limit + 1;
  const pattern = containing(filters.q);
  const like = comparisonOf(filters.q);
  // the station's search box: statements built once per sort, order, comparison and cursor or none, q and the cursor as placeholders
  const searchBox = builtOnce(options, filters, SEARCH_BOX_FILTERS);
  let shape: string | undefined;
  let context: SearchContext;
  let values: Record<string, unknown> = { pattern, walkRows: wanted + 1, wanted };
  if (searchBox) {
    const cursor = query.cursor ? readCursor(query.cursor, options.sort, order, options.sortColumn, options.idColumn) : undefined;
    shape = `${options.sort}_${order}_${like}_${cursor ? 'cursor' : 'first'}`;
    const match = searchMatch(placeholder('pattern'), like);
    const after = cursor && afterCursor(options.sortColumn, orders.id, order, { v: placeholder('v'), id: placeholder('id') });
    context = { options, order, match, others: after ?? sql`true`, filters: [match], after };
    values = { ...values, ...cursor };
  } else {
    const after = pastCursor(options, query);
    const others = and(...where({ ...filters, q: undefined }), after) ?? sql`true`;
    context = { options, order, match: searchMatch(pattern, like), others, filters: conditions, after };
  }

  const search = async (tx: Tx) => {
    /** The first `wanted` matches among the list's first `bound` orders (it stops there); undefined when fewer and the list goes on. */
    async function walk(bound: number) {
      const rows = await walks.run<{ id: string; hit: boolean; n: number }>(tx, shape, context, { ...values, bound });
      const ids = rows.filter((row) => row.hit).map((row) => row.id);
      const found = ids.length >= wanted || !rows.some((row) => row.n === bound);
      tried('walk', found ? 'found' : 'beyond_bound');
      return found ? ids.slice(0, wanted) : undefined;
    }
    /** The first `wanted` matches in the list's order, when there are at most `bound` of them; undefined when more. */
    async function lookUp(bound: number) {
      // bitmap scans alone for the look-up (a walk planned as the list alone is), back after it
      await planSettings.run(tx, 'bitmap', false, {});
      const [looked] = await lookUps.run<{ ids: string[] | null }>(tx, shape, context, { ...values, bound, candidates: bound + 1 });
      tried('look_up', looked!.ids ? 'found' : 'beyond_bound');
      return looked!.ids ?? undefined;
    }
    const ids = await race([walk, lookUp]);
    const rows = await foundPages.run<Record<string, unknown>>(tx, shape, context, { ...values, ids, rows: wanted }, options.columns);
    const page = pageOf(rows, limit, { ...options, order });
    // an order changed since it was found, and no longer matches: the page as the list has it, the slow way
    return page.items.length + (page.nextCursor ? 1 : 0) < ids.length ? listPage(tx, options, query, conditions) : page;
  };
  // read committed, no SET TRANSACTION (a round trip less): the page applies every condition again
  return db.transaction(search);
}
