/** /api/v1/orders/reconcile and /api/v1/orders/:id/refresh: orders read from SalesDrive on demand, besides its webhook. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { HttpError, notFound } from '../errors.js';
import { OrderListError } from '../salesdrive/order-list.js';
import { errorResponses, OneOf, TextIdParams } from '../schemas.js';

const disabled = () =>
  new HttpError(
    409,
    'SALESDRIVE_DISABLED',
    'SalesDrive is not connected: the service has no SALESDRIVE_URL (README, "Receiving orders from SalesDrive")',
  );

const orderFeedsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/orders/reconcile',
    {
      schema: {
        tags: ['orders'],
        summary: "Read SalesDrive's order list now: the orders whose webhook was lost",
        description:
          'Answers 202 at once; the run reads the orders updated since the last run (less SALESDRIVE_RECONCILE_OVERLAP) and upserts ' +
          'each as its webhook would. backoffice_salesdrive_reconciled_orders_total counts what it found.',
        response: {
          ...errorResponses,
          202: Type.Object(
            { jobId: Type.String(), state: Type.Literal('queued') },
            { examples: [{ jobId: '7c0d5b1e-2a44-4c1b-9d0e-3f6a8b2c1d4e', state: 'queued' }] },
          ),
        },
      },
      config: { access: { resource: 'feeds', action: 'create' } },
    },
    async (_request, reply) => {
      if (!app.reconciliation) throw disabled();
      const jobId = await app.reconciliation.runNow();
      reply.code(202);
      return { jobId, state: 'queued' as const };
    },
  );

  app.post(
    '/orders/:id/refresh',
    {
      schema: {
        tags: ['orders'],
        summary: 'Re-read one order from SalesDrive and store it as its webhook would',
        params: TextIdParams,
        response: {
          ...errorResponses,
          200: Type.Object(
            {
              result: OneOf(['created', 'updated', 'unchanged', 'stale'] as const, {
                description: 'what the upsert did, as for a webhook delivery',
              }),
              orderId: Type.String(),
              statusKept: Type.Boolean({
                description: "SalesDrive's status was not applied: a clerk's change here is newer or not yet pushed",
              }),
            },
            { examples: [{ result: 'updated', orderId: '123457', statusKept: false }] },
          ),
        },
      },
      config: { access: { resource: 'orders', action: 'update' } },
    },
    async (request) => {
      if (!app.reconciliation) throw disabled();
      const applied = await app.reconciliation.refresh(request.params.id).catch((error: unknown) => {
        if (error instanceof OrderListError) throw new HttpError(502, 'SALESDRIVE_UNAVAILABLE', error.message);
        throw error;
      });
      if (!applied) throw notFound('Order in SalesDrive');
      if (applied.result === 'invalid')
        throw new HttpError(502, 'SALESDRIVE_ORDER_INVALID', applied.reason ?? 'SalesDrive sent an order that cannot be stored');
      if (applied.result === 'conflict')
        throw new HttpError(409, 'ORDER_NEEDS_CORRECTION', applied.reason ?? 'the order needs correcting first');
      return applied.outcome!;
    },
  );
};

export default orderFeedsRoutes;
