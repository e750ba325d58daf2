/** An order's history: a page of it, and the entry a clerk's status change writes (the latest entries come with the one-call view, orders/list.ts). */
import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { listPage, publicColumns } from '../db/pages.js';
import { orderHistory, orders } from '../db/schema.js';
import { HistoryItem } from './shapes.js';

export const historyColumns = publicColumns(orderHistory, HistoryItem);

/** A page of an order's history, newest first; undefined when there is no such order. */
export async function historyPage(db: Db, id: string, query: { limit?: number; cursor?: string }) {
  const [order] = await db.select({ id: orders.id }).from(orders).where(eq(orders.id, id));
  if (!order) return undefined;
  return listPage(
    db,
    { table: orderHistory, idColumn: orderHistory.id, columns: historyColumns, sort: 'changedAt', sortColumn: orderHistory.changedAt },
    { ...query, order: 'desc' },
    [eq(orderHistory.orderId, id)],
  );
}

/** A clerk's status change, or the first status of an order created through the API, recorded in its history (in the same transaction). */
export async function recordStatusChange(tx: Tx, order: { id: string; status: string; statusText: string }, userId: number) {
  await tx.insert(orderHistory).values({
    orderId: order.id,
    status: order.status,
    statusText: order.statusText,
    source: 'manual',
    userId,
  });
}
