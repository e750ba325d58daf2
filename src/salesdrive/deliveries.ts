/**
 * A SalesDrive delivery reconciled with the order it names, in the delivery's transaction: created,
 * updated, or left as it is (a repeat, an older delivery); a clerk's status change is kept until
 * SalesDrive has it. The one way an order from SalesDrive is stored, whether its webhook delivered
 * it (routes/salesdrive-webhook.ts) or the reconciliation read it from the order list (reconcile.ts).
 */
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db, type Tx } from '../db/client.js';
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

/** The newest change a clerk made to the order's status (the order's row, `orders`, in the statement). */
const lastManualChange = sql<Date | null>`(select max(${orderHistory.changedAt}) from ${orderHistory} where ${and(eq(orderHistory.orderId, orders.id), eq(orderHistory.source, 'manual'))})`;

/** Runs `statement` (one that returns the order's id) and appends `entry` to the order's history if it returned a row: one statement. */
async function withHistoryEntry(
  db: Db | Tx,
  statement: SQL,
  entry: { status: string; statusText: string; source: string; notes?: string },
): Promise<boolean> {
  const result = await db.execute(
    sql`with changed as (${statement}) insert into ${orderHistory} ("order_id", "status", "status_text", "source", "notes") select changed.id, ${entry.status}, ${entry.statusText}, ${entry.source}, ${entry.notes ?? null} from changed returning 1`,
  );
  return rowsOf(result).length > 0;
}

/**
 * The first delivery of an order: the order and its first history entry, in one statement.
 * `ifNew`: false when the order exists (or another has its external id), and nothing is written:
 * the insert waits for one under way, which keeps the first two deliveries of a new order apart
 * (every unique key decides it: a race on the id would otherwise fail on external_id). Without
 * it, an order that exists is a unique violation.
 */
async function create(
  db: Db | Tx,
  { id, payload, fields, updateAt }: Delivery,
  source: 'webhook' | 'salesdrive',
  { ifNew }: { ifNew: boolean },
): Promise<boolean> {
  const status = fields.status ?? '1';
  const statusText = statusLabel(status, fields.statusText);
  const externalId = externalIdOf(payload.data);
  const insert = db
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
      statusText,
      rawData: payload,
      lastSynced: new Date(),
      salesdriveUpdatedAt: updateAt ?? null,
      syncStatus: 'success',
      syncError: null,
    })
    .$dynamic();
  if (ifNew) insert.onConflictDoNothing();
  return withHistoryEntry(db, insert.returning({ id: orders.id }).getSQL(), {
    status,
    statusText,
    source,
    notes: 'new order from SalesDrive',
  });
}

/**
 * A delivery of an order, in its own transaction: `applyDelivery` after a first try at creating
 * it outside any (a new order is then one statement; a known one two more, and the transaction's own).
 */
export async function deliver(db: Db, delivery: Delivery, statusPush: StatusPush | undefined): Promise<AppliedDelivery> {
  if (await create(db, delivery, 'webhook', { ifNew: true })) return { result: 'created', orderId: delivery.id, statusKept: false };
  return db.transaction((tx) => applyDelivery(tx, delivery, statusPush));
}

export async function applyDelivery(
  tx: Tx,
  delivery: Delivery,
  statusPush: StatusPush | undefined,
  { source = 'webhook', sameUpdateAtIsUnchanged = false }: DeliveryOptions = {},
): Promise<AppliedDelivery> {
  const { id, payload, fields, updateAt } = delivery;
  // one delivery of an order at a time: the row's lock, or (no row yet) the insert's wait for another under way
  let before;
  for (let attempt = 0; ; attempt++) {
    [before] = await tx
      .select({
        status: orders.status,
        salesdriveUpdatedAt: orders.salesdriveUpdatedAt,
        ...ruleFields,
        sameDelivery: sql<boolean>`${orders.rawData} = ${JSON.stringify(payload)}::jsonb`,
        lastManualChange: lastManualChange.mapWith(orderHistory.changedAt),
      })
      .from(orders)
      .where(eq(orders.id, id))
      .for('update');
    if (before) break;
    // no such order yet; on a second look, none still: another has its external id, which a unique violation (409) says
    if (await create(tx, delivery, source, { ifNew: attempt === 0 })) return { result: 'created', orderId: id, statusKept: false };
  }
  const received = { rawData: payload, lastSynced: new Date(), salesdriveUpdatedAt: updateAt ?? before.salesdriveUpdatedAt ?? null };
  const inSync = { syncStatus: 'success' as const, syncError: null };

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
    const manual = before.lastManualChange;
    statusKept = pushPending || (manual !== null && (!updateAt || updateAt < manual));
  }
  const statusChange =
    !statusKept && status !== undefined && status !== before.status ? { status, statusText: statusLabel(status, statusText) } : undefined;
  // while a clerk's change is on its way, its push owns sync_status and sync_error
  const values = { ...rest, ...statusChange, ...received, ...(pushPending ? {} : inSync) };
  assertCorrectable(id, before, values);
  const update = tx.update(orders).set(values).where(eq(orders.id, id));
  if (statusChange) await withHistoryEntry(tx, update.returning({ id: orders.id }).getSQL(), { ...statusChange, source });
  else await update;
  return { result: 'updated', orderId: id, statusKept };
}
