/**
 * POST /api/v1/webhooks/salesdrive: SalesDrive's webhook, the way orders arrive. Only SalesDrive
 * gets in (a shared secret, compared in constant time, checked before the body is read); each
 * delivery is one transaction, serialised per order, keyed by SalesDrive's order id (`data.id`).
 * A repeat changes nothing, a delivery older than the order (by SalesDrive's `updateAt`) changes
 * nothing, and a clerk's status change is kept until SalesDrive has it (see the README, "Receiving
 * orders from SalesDrive").
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { SalesDriveConfig } from '../config.js';
import { HttpError } from '../errors.js';
import type { DeliveryResult } from '../plugins/metrics.js';
import { deliver, type DeliveryOutcome } from '../salesdrive/deliveries.js';
import { ORDER_EVENTS, PayloadError, readDelivery, SalesDrivePayload, type Delivery } from '../salesdrive/payload.js';
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

const digest = (text: string) => hash('sha256', text, 'buffer');

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
      refuse(
        request,
        401,
        'WEBHOOK_UNAUTHORIZED',
        'A valid webhook secret is required (X-Webhook-Secret, or ?token= in the URL SalesDrive calls)',
      );
    }
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
        // a write per call would be the delivery's second statement, on one row every call of SalesDrive's updates
        rateLimitSharing: 'batched',
      },
      onRequest: checkSecret,
    },
    async (request) => {
      const payload = request.body;
      const event = payload.info?.webhookEvent;
      if (!event || !ORDER_EVENTS.has(event)) {
        app.metrics.salesdriveDelivery('ignored');
        return { result: 'ignored', orderId: payload.data ? String(payload.data.id) : null, statusKept: false } satisfies DeliveryOutcome;
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
      const outcome = await deliver(app.db, delivery, app.statusPush).catch((error: unknown) => {
        // an order that needs correcting first, an external id another order has: nothing stored
        if (error instanceof HttpError && error.statusCode === 409) {
          app.metrics.salesdriveDelivery('conflict');
          request.log.warn({ orderId: delivery.id, code: error.code }, 'SalesDrive delivery not stored');
        }
        throw error;
      });
      app.metrics.salesdriveDelivery(outcome.result);
      if (outcome.statusKept)
        request.log.info({ orderId: outcome.orderId }, "SalesDrive's status not applied: a clerk's change is newer or not yet pushed");
      return outcome;
    },
  );
};

export default webhookRoutes;
