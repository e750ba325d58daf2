/**
 * The reconciliation with SalesDrive: SalesDrive delivers each webhook at most once, so a delivery
 * lost (the service down, a network fault, a 5xx) is an order never seen. Like the old back office's
 * syncOrdersWithDatabase, every few minutes the order list is read by `updateAt`, from the stored
 * high-water mark minus an overlap (SalesDrive's clock and ours, orders saved as we read), and every
 * order goes through the webhook's own upsert (deliveries.ts): stale-safe, idempotent, its history
 * written once. The mark moves only after every page was read and applied.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { feedMarks } from '../db/schema.js';
import { HttpError } from '../errors.js';
import type { RECONCILE_RESULTS } from '../plugins/metrics.js';
import type { StatusPush } from '../plugins/salesdrive-push.js';
import { deliveryOfListOrder, PAGE_SIZE, type OrderListClient } from './order-list.js';
import { PayloadError } from './payload.js';
import { applyDelivery, type AppliedDelivery } from './deliveries.js';

export const RECONCILE_MARK = 'salesdrive-order-list';
/** A first run (no mark yet) reads the last day. */
const FIRST_LOOK_BACK_MS = 24 * 3600 * 1000;
/** More pages than this in one run is a filter gone wrong, not a backlog. */
const MAX_PAGES = 1000;

export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];
export type ReconcileCounts = Record<ReconcileResult, number>;

/** One order of the list, upserted as a webhook delivery would be; 'invalid' and 'conflict' leave the order as it was. */
export async function applyListOrder(
  db: Db,
  statusPush: StatusPush | undefined,
  order: unknown,
): Promise<{ result: ReconcileResult; orderId?: string; outcome?: AppliedDelivery; reason?: string }> {
  try {
    const delivery = deliveryOfListOrder(order);
    const outcome = await db.transaction((tx) =>
      applyDelivery(tx, delivery, statusPush, { source: 'salesdrive', sameUpdateAtIsUnchanged: true }),
    );
    return { result: outcome.result, orderId: outcome.orderId, outcome };
  } catch (error) {
    if (error instanceof PayloadError) return { result: 'invalid', reason: error.message };
    if (error instanceof HttpError && error.statusCode === 409) return { result: 'conflict', reason: error.message };
    throw error;
  }
}

export interface ReconcileReport {
  from: Date;
  to: Date;
  pages: number;
  counts: ReconcileCounts;
  /** Orders not stored, and why (the first 20). */
  notStored: { orderId: string | null; result: ReconcileResult; reason: string }[];
}

export async function reconcile(
  db: Db,
  list: OrderListClient,
  statusPush: StatusPush | undefined,
  overlapSeconds: number,
  signal?: AbortSignal,
): Promise<ReconcileReport> {
  const [stored] = await db
    .select({ mark: feedMarks.mark })
    .from(feedMarks)
    .where(sql`${feedMarks.name} = ${RECONCILE_MARK}`);
  const to = new Date();
  const from = stored ? new Date(stored.mark.getTime() - overlapSeconds * 1000) : new Date(to.getTime() - FIRST_LOOK_BACK_MS);
  const counts: ReconcileCounts = { created: 0, updated: 0, unchanged: 0, stale: 0, invalid: 0, conflict: 0 };
  const notStored: ReconcileReport['notStored'] = [];
  let page = 1;
  for (; page <= MAX_PAGES; page++) {
    const { orders, total } = await list.page(from, to, page, signal);
    for (const order of orders) {
      const applied = await applyListOrder(db, statusPush, order);
      counts[applied.result]++;
      if (applied.reason && notStored.length < 20) {
        const id = typeof order === 'object' && order !== null && 'id' in order ? String(order.id) : null;
        notStored.push({ orderId: id, result: applied.result, reason: applied.reason });
      }
    }
    if (orders.length < PAGE_SIZE || page * PAGE_SIZE >= total) break;
  }
  if (page > MAX_PAGES)
    throw new Error(`SalesDrive's order list had more than ${MAX_PAGES} pages from ${from.toISOString()}: not reconciled, the mark stays`);
  // only forward: a run that started earlier and ended later does not take it back
  await db
    .insert(feedMarks)
    .values({ name: RECONCILE_MARK, mark: to })
    .onConflictDoUpdate({ target: feedMarks.name, set: { mark: sql`greatest(${feedMarks.mark}, excluded.mark)`, updatedAt: new Date() } });
  return { from, to, pages: page, counts, notStored };
}
