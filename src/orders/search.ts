/**
 * A page of GET /orders?q=, read so that its cost does not hang on the planner's guess of how many
 * orders match (issue 26). Prepared once, the query is planned for any q, as if a match were
 * common: it walks the sort's index and tests every order on its way, 0.6 s at 1M orders for a TTN
 * ending that matches one order. So the matches are first looked up in the trigram index, up to
 * RARE of them: when fewer, the page is sorted from those; when more, a match is common enough
 * that walking the sort's index finds a page after at most (orders / RARE) × the page's size.
 */
import { and, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db, type Tx } from '../db/client.js';
import { listPage, type PageArgs } from '../db/pages.js';
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

/** listPage, for the list of orders: with q, its matches looked up first (see above). */
export async function ordersPage(db: Db, ...[options, query, conditions, filters]: [...PageArgs, Filters]) {
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
