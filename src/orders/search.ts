/**
 * A page of GET /orders?q=, read so that its cost does not hang on the planner's guess of how many
 * orders match (issue 26). Prepared once, the query is planned for any q, as if a match were
 * common: it walks the sort's index and tests every order on its way, 0.6 s at 1M orders for a TTN
 * ending that matches one order. So the matches are first looked up in the trigram index, up to
 * RARE of them: when fewer, the page is sorted from those; when more, a match is common enough
 * that walking the sort's index finds a page after at most (orders / RARE) × the page's size.
 */
import { and, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { listPage, type PageArgs } from '../db/pages.js';
import { orders } from '../db/schema.js';
import type { Filters } from './list.js';

/** Up to how many matches are sorted rather than found by walking the sort's index (a bitmap scan and as many look-ups by id). */
export const RARE = 5000;

/** Turns a plan type off or on for the rest of the transaction. */
const plans = (tx: Tx, on: { seqscan: boolean; indexscan: boolean; bitmapscan: boolean }) =>
  tx.execute(
    sql`SELECT ${sql.join(
      Object.entries(on).map(([name, value]) => sql`set_config(${`enable_${name}`}, ${value ? 'on' : 'off'}, true)`),
      sql`, `,
    )}`,
  );

/** listPage, for the list of orders: with q, its matches looked up first (see above). */
export async function ordersPage(db: Db, ...[options, query, conditions, filters]: [...PageArgs, Filters]) {
  if (!filters.q) return listPage(db, options, query, conditions);
  const search = async (tx: Tx) => {
    await plans(tx, { seqscan: false, indexscan: false, bitmapscan: true });
    const hits = await tx
      .select({ id: orders.id })
      .from(orders)
      .where(and(...conditions))
      .limit(RARE + 1);
    if (hits.length <= RARE) {
      const ids = hits.map(({ id }) => id);
      await plans(tx, { seqscan: true, indexscan: true, bitmapscan: true });
      return listPage(tx, options, query, [...conditions, sql`${orders.id} = ANY(${sql.param(ids)}::text[])`]);
    }
    await plans(tx, { seqscan: true, indexscan: true, bitmapscan: false });
    return listPage(tx, options, query, conditions);
  };
  // one snapshot for the look-up and the page
  return db.transaction(search, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}
