/**
 * The catalogue sync from Dilovod as a pg-boss job (docs/decisions.md): every DILOVOD_SYNC_INTERVAL
 * minutes (pg-boss's schedule: one job per occurrence across replicas), and when an admin asks
 * (POST /api/v1/products/sync). The queue's policy is singleton: one run at a time across replicas.
 * A run is not retried by the queue (its row says it failed; the next occurrence runs again). One
 * Dilovod client per process. Without DILOVOD_URL there is nothing here: no queue, no schedule.
 */
import { sql } from 'drizzle-orm';
import fp from 'fastify-plugin';
import type { DilovodConfig } from '../config.js';
import type { Tx } from '../db/client.js';
import { dilovodClient } from '../dilovod/client.js';
import { createRun, DEAD_AFTER_SECONDS, executeRun, queuedRun, type Run } from '../catalogue/runs.js';

export const SYNC_QUEUE = 'dilovod-catalogue';

export interface CatalogueSync {
  /** A run now (or the one already waiting): its row, written with its job in one transaction. */
  request(by: { userId: number; allowLargeChange: boolean }): Promise<{ run: Run; joined: boolean }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined without DILOVOD_URL. */
    catalogueSync: CatalogueSync | undefined;
  }
}

interface SyncJob {
  /** Absent for a scheduled run: its row is written when it starts. */
  runId?: string;
}

export default fp<{ dilovod?: DilovodConfig }>(
  async (app, { dilovod }) => {
    if (!dilovod) {
      app.decorate('catalogueSync', undefined);
      return;
    }
    const { fromDrizzle } = await import('pg-boss');
    const boss = await app.jobs();
    const client = dilovodClient(dilovod);
    const settings = { setParentIds: dilovod.setParentIds, mainPriceType: dilovod.mainPriceType, maxChangeShare: dilovod.maxChangeShare };
    const queue = {
      policy: 'singleton' as const,
      retryLimit: 0,
      // a run whose process died is taken off the queue after this, so that the next one may start
      expireInSeconds: Math.max(DEAD_AFTER_SECONDS * 2, 3600),
    };
    await boss.createQueue(SYNC_QUEUE, queue);
    await boss.updateQueue(SYNC_QUEUE, { retryLimit: queue.retryLimit, expireInSeconds: queue.expireInSeconds });
    if (dilovod.syncInterval > 0) await boss.schedule(SYNC_QUEUE, `FREQ=MINUTELY;INTERVAL=${dilovod.syncInterval}`, {});
    else await boss.unschedule(SYNC_QUEUE);

    const stopping = new AbortController();
    app.addHook('preClose', () => stopping.abort());

    await boss.work<SyncJob>(SYNC_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([job]) => {
      const runId = job!.data.runId ?? (await createRun(app.db, { trigger: 'schedule' })).id;
      const run = await executeRun(app.db, client, settings, runId, stopping.signal);
      app.metrics.catalogueSync(run.state === 'succeeded' || run.state === 'refused' ? run.state : 'failed', run);
      const log = { runId, state: run.state, created: run.created, changed: run.changed, unchanged: run.unchanged, outdated: run.outdated };
      if (run.state === 'succeeded') app.log.info(log, 'catalogue synced from Dilovod');
      else app.log.warn({ ...log, error: run.error }, `catalogue sync ${run.state}`);
    });

    const inTransaction = (tx: Tx) => fromDrizzle(tx, sql);
    app.decorate('catalogueSync', {
      request: ({ userId, allowLargeChange }) =>
        app.db.transaction(async (tx) => {
          // requests one at a time, so that two at once join one run
          await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('catalogue-sync-request', 0))`);
          const waiting = await queuedRun(tx);
          if (waiting && waiting.allowLargeChange === allowLargeChange) return { run: waiting, joined: true };
          const run = await createRun(tx, { trigger: 'manual', requestedBy: userId, allowLargeChange });
          await boss.send(SYNC_QUEUE, { runId: run.id } satisfies SyncJob, { db: inTransaction(tx) });
          return { run, joined: false };
        }),
    } satisfies CatalogueSync);
  },
  { name: 'catalogue-sync', dependencies: ['db', 'metrics', 'jobs'] },
);
