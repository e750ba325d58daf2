/**
 * A SalesDrive delivery reconciled with the order it names, in the delivery's transaction: created,
 * updated, or left as it is (a repeat, an older delivery); a clerk's status change is kept until
 * SalesDrive has it. The one way an order from SalesDrive is stored, whether its webhook delivered
 * it (routes/salesdrive-webhook.ts) or the reconciliation read it from the order list (reconcile.ts).
 */
import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { assertKeepsRules, ruleKeysOf } from '../db/rules.js';
import { orderHistory, orders } from '../db/schema.js';
import type { StatusPush } from '../plugins/salesdrive-push.js';
import { statusLabel } from '../orders/statuses.js';
import { externalIdOf, type Delivery } from './payload.js';

export interface DeliveryOutcome {
  result: 'created' | 'updated' | 'unchanged' | 'stale' | 'ignored';
  orderId: string | null;
  statusKept: boolean;
}

/** What a delivery did to the order it names. */
export type AppliedDelivery = DeliveryOutcome & { result: Exclude<DeliveryOutcome['result'], 'ignored'>; orderId: string };

export interface DeliveryOptions {
  /** Who brought it, for the order's history: the webhook, or the reconciliation reading SalesDrive ('salesdrive'). */
  source?: 'webhook' | 'salesdrive';
  /**
   * The reconciliation reads an order in another shape than the webhook sends it: the same `updateAt`
   * as the order holds is then the same version of the order, unchanged, not a new delivery.
   */
  sameUpdateAtIsUnchanged?: boolean;
}

/** The columns the rules of `orders` read (src/db/rules.ts). */
const ruleFields = Object.fromEntries(Object.entries(getTableColumns(orders)).filter(([key]) => ruleKeysOf('orders').includes(key)));

/**
 * A legacy order whose values break a rule (kept NOT VALID) cannot be updated unless the update
 * corrects them, since PostgreSQL checks each rule again on every update of the row: say which,
 * and how a clerk corrects them, instead of the database's refusal.
 */
function assertCorrectable(id: string, before: Record<string, unknown>, values: Record<string, unknown>) {
  assertKeepsRules('orders', before, values, {
    status: 409,
    code: 'ORDER_NEEDS_CORRECTION',
    message: (described) =>
      `Order ${id} holds values from the old back office that break rules of the schema, and this delivery does not correct them: ` +
      `${described}. Correct them (PATCH /api/v1/orders/${id}, or the SQL npm run db:check prints); ` +
      "SalesDrive's next delivery of the order is then applied",
  });
}

const lastManualChange = (tx: Tx, id: string) =>
  tx
    .select({ at: orderHistory.changedAt })
    .from(orderHistory)
    .where(and(eq(orderHistory.orderId, id), eq(orderHistory.source, 'manual')))
    .orderBy(desc(orderHistory.changedAt))
    .limit(1);

export async function applyDelivery(
  tx: Tx,
  { id, payload, fields, updateAt }: Delivery,
  statusPush: StatusPush | undefined,
  { source = 'webhook', sameUpdateAtIsUnchanged = false }: DeliveryOptions = {},
): Promise<AppliedDelivery> {
  // one delivery of an order at a time, the first two of a new order included (no row to lock yet)
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`salesdrive-order:${id}`}, 0))`);
  const [before] = await tx
    .select({
      status: orders.status,
      salesdriveUpdatedAt: orders.salesdriveUpdatedAt,
      ...ruleFields,
      sameDelivery: sql<boolean>`${orders.rawData} = ${JSON.stringify(payload)}::jsonb`,
    })
    .from(orders)
    .where(eq(orders.id, id))
    .for('update');
  const received = { rawData: payload, lastSynced: new Date(), salesdriveUpdatedAt: updateAt ?? before?.salesdriveUpdatedAt ?? null };
  const inSync = { syncStatus: 'success' as const, syncError: null };

  if (!before) {
    const status = fields.status ?? '1';
    const externalId = externalIdOf(payload.data);
    const [created] = await tx
      .insert(orders)
      .values({
        id,
        externalId,
        orderNumber: externalId,
        ttn: '',
        items: [],
        quantity: fields.items?.reduce((sum, line) => sum + line.quantity, 0) ?? 0,
        ...fields,
        status,
        statusText: statusLabel(status, fields.statusText),
        ...received,
        ...inSync,
      })
      .returning({ status: orders.status, statusText: orders.statusText });
    await tx
      .insert(orderHistory)
      .values({ orderId: id, status: created!.status, statusText: created!.statusText, source, notes: 'new order from SalesDrive' });
    return { result: 'created', orderId: id, statusKept: false };
  }
  if (before.sameDelivery) return { result: 'unchanged', orderId: id, statusKept: false };
  if (sameUpdateAtIsUnchanged && updateAt && before.salesdriveUpdatedAt?.getTime() === updateAt.getTime())
    return { result: 'unchanged', orderId: id, statusKept: false };
  if (updateAt && before.salesdriveUpdatedAt && updateAt < before.salesdriveUpdatedAt)
    return { result: 'stale', orderId: id, statusKept: false };

  // a clerk's change wins over a delivery that does not know it: one older than the change, or
  // any while the change is still on its way to SalesDrive
  let statusKept = false;
  const { status, statusText, ...rest } = fields;
  const pushPending = (await statusPush?.undelivered(tx, id)) ?? false;
  if (status !== undefined && status !== before.status) {
    const [manual] = await lastManualChange(tx, id);
    statusKept = pushPending || (manual !== undefined && (!updateAt || updateAt < manual.at));
  }
  const statusChange =
    !statusKept && status !== undefined && status !== before.status ? { status, statusText: statusLabel(status, statusText) } : undefined;
  // while a clerk's change is on its way, its push owns sync_status and sync_error
  const values = { ...rest, ...statusChange, ...received, ...(pushPending ? {} : inSync) };
  assertCorrectable(id, before, values);
  await tx.update(orders).set(values).where(eq(orders.id, id));
  if (statusChange) await tx.insert(orderHistory).values({ orderId: id, ...statusChange, source });
  return { result: 'updated', orderId: id, statusKept };
}
