/**
 * POST /api/v1/webhooks/salesdrive: SalesDrive's webhook, the way orders arrive. Only SalesDrive
 * gets in (a shared secret, compared in constant time, checked before the body is read); each
 * delivery is one transaction, serialised per order, keyed by SalesDrive's order id (`data.id`).
 * A repeat changes nothing, a delivery older than the order (by SalesDrive's `updateAt`) changes
 * nothing, and a clerk's status change is kept until SalesDrive has it (see the README, "Receiving
 * orders from SalesDrive").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { SalesDriveConfig } from '../config.js';
import type { Tx } from '../db/client.js';
import { brokenFields, describeBrokenFields, ruleKeysOf } from '../db/rules.js';
import { orderHistory, orders } from '../db/schema.js';
import { HttpError } from '../plugins/errors.js';
import type { DeliveryResult } from '../plugins/metrics.js';
import { externalIdOf, ORDER_EVENTS, PayloadError, readDelivery, SalesDrivePayload, type Delivery } from '../salesdrive/payload.js';
import { errorResponses, OneOf, Strict } from '../schemas.js';
import { fieldOf } from '../field-of.js';

/** The delivery results SalesDrive is answered 200 with (the others are refusals). */
const ANSWERS = ['created', 'updated', 'unchanged', 'stale', 'ignored'] as const satisfies readonly DeliveryResult[];

const Outcome = Type.Object(
  {
    result: OneOf(ANSWERS, {
      description:
        'created; updated; unchanged: the same delivery again; stale: older than the order (by updateAt), nothing changed; ignored: an event that carries no order',
    }),
    orderId: Type.Union([Type.String(), Type.Null()]),
    statusKept: Type.Boolean({
      description: "the delivery's status was not applied: a status change made here is newer, or has not reached SalesDrive yet",
    }),
  },
  { examples: [{ result: 'updated', orderId: '123457', statusKept: false }] },
);
type Outcome = Static<typeof Outcome>;

/** The columns the rules of `orders` read (src/db/rules.ts). */
const ruleFields = Object.fromEntries(Object.entries(getTableColumns(orders)).filter(([key]) => ruleKeysOf('orders').includes(key)));

const digest = (text: string) => createHash('sha256').update(text).digest();

const webhookRoutes: FastifyPluginAsyncTypebox<SalesDriveConfig> = async (app, { webhookSecret, webhookRateLimit }) => {
  const expected = webhookSecret === undefined ? undefined : digest(webhookSecret);

  function refuse(request: FastifyRequest, status: number, code: string, message: string): never {
    app.metrics.salesdriveDelivery('refused');
    request.log.warn({ code }, 'SalesDrive webhook refused'); // never the payload, never the secret
    throw new HttpError(status, code, message);
  }

  /** Before the body is read: without the secret, nothing of the call is parsed or kept. */
  async function checkSecret(request: FastifyRequest) {
    if (!expected) {
      refuse(request, 403, 'WEBHOOK_DISABLED', 'The SalesDrive webhook is disabled: the service has no SALESDRIVE_WEBHOOK_SECRET');
    }
    const header = request.headers['x-webhook-secret'];
    const given = typeof header === 'string' ? header : fieldOf(request.query, 'token');
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      refuse(request, 401, 'WEBHOOK_UNAUTHORIZED', 'A valid webhook secret is required (X-Webhook-Secret, or ?token= in the URL SalesDrive calls)');
    }
  }

  /**
   * A legacy order whose values break a rule (kept NOT VALID) cannot be updated unless the update
   * corrects them, since PostgreSQL checks each rule again on every update of the row: say which,
   * and how a clerk corrects them, instead of the database's refusal.
   */
  function assertCorrectable(id: string, before: Record<string, unknown>, values: Record<string, unknown>) {
    const fields = brokenFields('orders', { ...before, ...values });
    if (!fields.length) return;
    throw new HttpError(
      409,
      'ORDER_NEEDS_CORRECTION',
      `Order ${id} holds values from the old back office that break rules of the schema, and this delivery does not correct them: ` +
        `${describeBrokenFields(fields)}. Correct them (PATCH /api/v1/orders/${id}, or the SQL npm run db:check prints); ` +
        "SalesDrive's next delivery of the order is then applied",
      {},
      fields,
    );
  }

  const lastManualChange = (tx: Tx, id: string) =>
    tx
      .select({ at: orderHistory.changedAt })
      .from(orderHistory)
      .where(and(eq(orderHistory.orderId, id), eq(orderHistory.source, 'manual')))
      .orderBy(desc(orderHistory.changedAt))
      .limit(1);

  async function applyDelivery(tx: Tx, { id, payload, fields, updateAt }: Delivery): Promise<Outcome> {
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
          statusText: fields.statusText ?? 'Новий',
          ...received,
          ...inSync,
        })
        .returning({ status: orders.status, statusText: orders.statusText });
      await tx.insert(orderHistory).values({ orderId: id, status: created!.status, statusText: created!.statusText, source: 'webhook', notes: 'new order from SalesDrive' });
      return { result: 'created', orderId: id, statusKept: false };
    }
    if (before.sameDelivery) return { result: 'unchanged', orderId: id, statusKept: false };
    if (updateAt && before.salesdriveUpdatedAt && updateAt < before.salesdriveUpdatedAt) return { result: 'stale', orderId: id, statusKept: false };

    // a clerk's change wins over a delivery that does not know it: one older than the change, or
    // any while the change is still on its way to SalesDrive
    let statusKept = false;
    const { status, statusText, ...rest } = fields;
    const pushPending = (await app.statusPush?.undelivered(tx, id)) ?? false;
    if (status !== undefined && status !== before.status) {
      const [manual] = await lastManualChange(tx, id);
      statusKept = pushPending || (manual !== undefined && (!updateAt || updateAt < manual.at));
    }
    const statusChange = !statusKept && status !== undefined && status !== before.status ? { status, statusText: statusText ?? status } : undefined;
    // while a clerk's change is on its way, its push owns sync_status and sync_error
    const values = { ...rest, ...statusChange, ...received, ...(pushPending ? {} : inSync) };
    assertCorrectable(id, before, values);
    await tx.update(orders).set(values).where(eq(orders.id, id));
    if (statusChange) await tx.insert(orderHistory).values({ orderId: id, ...statusChange, source: 'webhook' });
    return { result: 'updated', orderId: id, statusKept };
  }

  app.post(
    '/webhooks/salesdrive',
    {
      bodyLimit: 512 * 1024,
      schema: {
        tags: ['webhooks'],
        summary: "SalesDrive's webhook: a new order or a status change, as SalesDrive sends it",
        description:
          'Configure in SalesDrive as `https://<this service>/api/v1/webhooks/salesdrive?token=<SALESDRIVE_WEBHOOK_SECRET>` ' +
          '(or send the secret in `X-Webhook-Secret`). Events `new_order` and `status_change` upsert the order by `data.id`; ' +
          'any other event is acknowledged and changes nothing.',
        security: [],
        querystring: Strict({ token: Type.Optional(Type.String({ maxLength: 200, description: 'the webhook secret' })) }),
        headers: Type.Object({ 'x-webhook-secret': Type.Optional(Type.String({ maxLength: 200 })) }),
        body: SalesDrivePayload,
        response: { ...errorResponses, 200: Outcome },
      },
      config: {
        access: 'public',
        rateLimit: { max: webhookRateLimit, timeWindow: '1 minute', keyGenerator: (request: FastifyRequest) => request.ip },
      },
      onRequest: checkSecret,
    },
    async (request) => {
      const payload = request.body;
      const event = payload.info?.webhookEvent;
      if (!event || !ORDER_EVENTS.has(event)) {
        app.metrics.salesdriveDelivery('ignored');
        return { result: 'ignored', orderId: payload.data ? String(payload.data.id) : null, statusKept: false } satisfies Outcome;
      }
      const { data } = payload;
      if (!data) {
        app.metrics.salesdriveDelivery('invalid');
        throw new HttpError(400, 'FST_ERR_VALIDATION', `body.data is required for ${event}: the order, with its id`);
      }
      let delivery: Delivery;
      try {
        delivery = readDelivery({ ...payload, data });
      } catch (error) {
        if (!(error instanceof PayloadError)) throw error;
        app.metrics.salesdriveDelivery('invalid');
        throw new HttpError(400, 'INVALID_PAYLOAD', error.message);
      }
      const outcome = await app.db.transaction((tx) => applyDelivery(tx, delivery)).catch((error: unknown) => {
        // an order that needs correcting first, an external id another order has: nothing stored
        if (error instanceof HttpError && error.statusCode === 409) {
          app.metrics.salesdriveDelivery('conflict');
          request.log.warn({ orderId: delivery.id, code: error.code }, 'SalesDrive delivery not stored');
        }
        throw error;
      });
      app.metrics.salesdriveDelivery(outcome.result);
      if (outcome.statusKept) request.log.info({ orderId: outcome.orderId }, "SalesDrive's status not applied: a clerk's change is newer or not yet pushed");
      return outcome;
    },
  );
};

export default webhookRoutes;
