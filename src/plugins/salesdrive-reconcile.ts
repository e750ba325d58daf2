/**
 * The reconciliation with SalesDrive's order list (salesdrive/reconcile.ts) as a pg-boss job: every
 * SALESDRIVE_RECONCILE_INTERVAL minutes (pg-boss's schedule: one job per occurrence across
 * replicas), and when an admin asks (POST /api/v1/orders/reconcile). The queue's policy is
 * singleton: one run at a time across replicas. A failed run is not retried by the queue: the mark
 * stays, and the next occurrence reads from it again. Also one order re-read on demand
 * (POST /api/v1/orders/:id/refresh). Without SALESDRIVE_URL there is nothing here.
 */
import fp from 'fastify-plugin';
import { DEFAULT_RECONCILE_OVERLAP, type SalesDrivePush } from '../config.js';
import { fieldOf } from '../field-of.js';
import { orderListClient } from '../salesdrive/order-list.js';
import { applyListOrder, reconcile } from '../salesdrive/reconcile.js';

export const RECONCILE_QUEUE = 'salesdrive-reconcile';

export interface Reconciliation {
  /** A run now: the id of its job. */
  runNow(): Promise<string>;
  /** Re-reads one order from SalesDrive and upserts it; undefined when SalesDrive has no such order. */
  refresh(orderId: string): Promise<Awaited<ReturnType<typeof applyListOrder>> | undefined>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined without SALESDRIVE_URL. */
    reconciliation: Reconciliation | undefined;
  }
}

export default fp<{ salesdrive?: SalesDrivePush }>(
  async (app, { salesdrive }) => {
    if (!salesdrive) {
      app.decorate('reconciliation', undefined);
      return;
    }
    const boss = await app.jobs();
    const list = orderListClient(salesdrive);
    const queue = { policy: 'singleton' as const, retryLimit: 0, expireInSeconds: 3600 };
    await boss.createQueue(RECONCILE_QUEUE, queue);
    await boss.updateQueue(RECONCILE_QUEUE, { retryLimit: queue.retryLimit, expireInSeconds: queue.expireInSeconds });
    const { reconcileInterval = 0, reconcileOverlap = DEFAULT_RECONCILE_OVERLAP } = salesdrive;
    if (reconcileInterval > 0) await boss.schedule(RECONCILE_QUEUE, `FREQ=MINUTELY;INTERVAL=${reconcileInterval}`, {});
    else await boss.unschedule(RECONCILE_QUEUE);

    const stopping = new AbortController();
    app.addHook('preClose', () => stopping.abort());
    await boss.work(RECONCILE_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([job]) => {
      try {
        const report = await reconcile(app.db, list, app.statusPush, reconcileOverlap, stopping.signal);
        app.metrics.salesdriveReconcile('succeeded', report.counts);
        const log = { jobId: job!.id, from: report.from, to: report.to, pages: report.pages, ...report.counts };
        if (report.notStored.length)
          app.log.warn({ ...log, notStored: report.notStored }, "SalesDrive's order list reconciled; some orders not stored");
        else app.log.info(log, "SalesDrive's order list reconciled");
      } catch (error) {
        app.metrics.salesdriveReconcile('failed');
        app.log.warn({ jobId: job!.id }, `reconciliation with SalesDrive failed: ${String(fieldOf(error, 'message') ?? error)}`);
        throw error;
      }
    });

    app.decorate('reconciliation', {
      async runNow() {
        const id = await boss.send(RECONCILE_QUEUE, {});
        if (!id) throw new Error('pg-boss did not take the reconciliation job');
        return id;
      },
      async refresh(orderId) {
        const order = await list.byId(orderId);
        return order === undefined ? undefined : applyListOrder(app.db, app.statusPush, order);
      },
    } satisfies Reconciliation);
  },
  { name: 'salesdrive-reconcile', dependencies: ['db', 'metrics', 'jobs', 'salesdrive-push'] },
);
