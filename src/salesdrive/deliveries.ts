/**
 * A SalesDrive delivery reconciled with the order it names, in the delivery's transaction: created,
 * updated, or left as it is (a repeat, an older delivery); a clerk's status change is kept until
 * SalesDrive has it. The one way an order from SalesDrive is stored, whether its webhook delivered
 * it (routes/salesdrive-webhook.ts) or the reconciliation read it from the order list (reconcile.ts).
 */
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { assertKeepsRules, ruleKeysOf } from '../db/rules.js';
import { StatementsByShape, writePlaceholders, writeShape } from '../db/statements.js';
import { orderHistory, orders } from '../db/schema.js';
import type { StatusPush } from '../plugins/salesdrive-push.js';
import { statusLabel } from '../orders/statuses.js';
import { externalIdOf, NEW_ORDER_EVENT, type Delivery } from './payload.js';

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

/** An entry of the order's history, as a write's statement appends it. */
interface HistoryEntry {
  status: string;
  statusText: string;
  source: string;
  notes?: string;
}
const HISTORY_ENTRY_KEYS = ['status', 'statusText', 'source', 'notes'] as const;
const entryValues = (entry: HistoryEntry) => Object.fromEntries(HISTORY_ENTRY_KEYS.map((key) => [`entry_${key}`, entry[key] ?? null]));

/** `statement` (one that returns the order's id), then an entry of the order's history if it returned a row: one statement. */
const withHistoryEntry = (statement: SQL) => {
  const [status, statusText, source, notes] = HISTORY_ENTRY_KEYS.map((key) => sql.placeholder(`entry_${key}`));
  return sql`with changed as (${statement}) insert into ${orderHistory} ("order_id", "status", "status_text", "source", "notes") select changed.id, ${status}, ${statusText}, ${source}, ${notes} from changed returning 1`;
};

/** What a delivery reads of the order it names, its row locked: one statement, built once. */
const readFields = {
  status: orders.status,
  salesdriveUpdatedAt: orders.salesdriveUpdatedAt,
  ...ruleFields,
  sameDelivery: sql<boolean>`${orders.rawData} = ${sql.placeholder('payload')}::jsonb`,
  lastManualChange: lastManualChange.mapWith(orderHistory.changedAt),
};
const readBefore = (db: Db | Tx) =>
  db
    .select(readFields)
    .from(orders)
    .where(eq(orders.id, sql.placeholder('id')))
    .for('update');
type OrderBefore = Awaited<ReturnType<typeof readBefore>>[number];
const reads = new StatementsByShape<undefined>('salesdrive_order_read', (db) => readBefore(db).getSQL());

type OrderValues = typeof orders.$inferInsert;
/** A new order and its first history entry; `if-new:…`: nothing when the order exists (or another has its external id). */
const inserts = new StatementsByShape<string>('salesdrive_order_insert', (db, shape) => {
  const [ifNew, columns] = shape.split(':') as [string, string];
  const insert = db.insert(orders).values(writePlaceholders<OrderValues>(columns)).$dynamic();
  if (ifNew === 'if-new') insert.onConflictDoNothing();
  return withHistoryEntry(insert.returning({ id: orders.id }).getSQL());
});
/** A change of an order; `entry:…`: with an entry of its history. */
const updates = new StatementsByShape<string>('salesdrive_order_update', (db, shape) => {
  const [entry, columns] = shape.split(':') as [string, string];
  const update = db
    .update(orders)
    .set(writePlaceholders<Partial<OrderValues>>(columns))
    .where(eq(orders.id, sql.placeholder('id')));
  return entry === 'entry' ? withHistoryEntry(update.returning({ id: orders.id }).getSQL()) : update.getSQL();
});

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
  const values = {
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
  } satisfies OrderValues;
  const entry = entryValues({ status, statusText, source, notes: 'new order from SalesDrive' });
  const shape = `${ifNew ? 'if-new' : 'always'}:${writeShape(values)}`;
  const created = await inserts.run(db, shape, shape, { ...values, ...entry });
  return created.length > 0;
}

/**
 * A delivery of an order, in its own transaction (`applyDelivery`). A new order's delivery first
 * tries to create it outside any: a new order is then one statement. A status change, which names
 * an order that is most likely known, goes to the transaction at once: trying the insert first would
 * cost it a round trip and the building of the order's values twice.
 */
export async function deliver(db: Db, delivery: Delivery, statusPush: StatusPush | undefined): Promise<AppliedDelivery> {
  const likelyNew = delivery.payload.info?.webhookEvent === NEW_ORDER_EVENT;
  if (likelyNew && (await create(db, delivery, 'webhook', { ifNew: true })))
    return { result: 'created', orderId: delivery.id, statusKept: false };
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
    [before] = await reads.run<OrderBefore>(tx, 'locked', undefined, { id, payload: JSON.stringify(payload) }, readFields);
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
  // what drizzle's $onUpdate would set, given here: a statement built once would keep the first request's time
  const changed = { ...values, updatedAt: new Date() };
  const entry = statusChange ? entryValues({ ...statusChange, source }) : {};
  const shape = `${statusChange ? 'entry' : 'alone'}:${writeShape(changed)}`;
  await updates.run(tx, shape, shape, { ...changed, ...entry, id });
  return { result: 'updated', orderId: id, statusKept };
}
