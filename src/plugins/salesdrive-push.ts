/**
 * Status changes made here (a clerk marking an order ready) go back to SalesDrive's API, as the
 * old back office sent them: `POST {SALESDRIVE_URL}/api/order/update/`, `X-Api-Key`, body
 * `{form, id, data: {statusId}}`. Through pg-boss (docs/decisions.md): the job is written in the
 * transaction of the change, so a change is pushed if and only if it commits; the jobs of one order
 * run one at a time in the order they were written (policy key_strict_fifo), each by one replica
 * (SKIP LOCKED), retried with backoff while SalesDrive is unreachable, slow or failing. Without
 * SALESDRIVE_URL there is nothing here: no queue, no job, nothing pushed.
 */
import { eq, sql } from 'drizzle-orm';
import fp from 'fastify-plugin';
import type { SalesDrivePush } from '../config.js';
import type { Tx } from '../db/client.js';
import { orders } from '../db/schema.js';
import { fieldOf } from '../field-of.js';

export const PUSH_QUEUE = 'salesdrive-status';
/** Retried for about a day: backoff from SALESDRIVE_RETRY_DELAY up to 10 minutes between tries. */
const RETRY_LIMIT = 150;
const RETRY_DELAY_MAX = 600;
/** Jobs not yet pushed: queued, being sent, retrying, or given up after the last retry. */
const UNDELIVERED = new Set(['created', 'retry', 'active', 'failed']);

export interface StatusPush {
  /** Writes the push of the order's new status, in the transaction of the change. */
  enqueue(tx: Tx, orderId: string, status: string): Promise<void>;
  /** Whether a status change of this order made here has not reached SalesDrive yet. */
  undelivered(tx: Tx, orderId: string): Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined without SALESDRIVE_URL: status changes stay here. */
    statusPush: StatusPush | undefined;
  }
}

interface PushJob {
  orderId: string;
  status: string;
}

/** SalesDrive answered, and not with a success: sending it again would get the same answer. */
class Refused extends Error {}

/** What SalesDrive's answer says, cut short: it is stored in orders.sync_error and may be logged. */
const excerpt = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);

export default fp<{ push?: SalesDrivePush }>(
  async (app, { push }) => {
    if (!push) {
      app.decorate('statusPush', undefined);
      return;
    }
    const { fromDrizzle } = await import('pg-boss');
    const boss = await app.jobs();
    const queue = {
      retryLimit: RETRY_LIMIT,
      retryDelay: push.retryDelay,
      retryBackoff: true,
      retryDelayMax: Math.max(RETRY_DELAY_MAX, push.retryDelay),
      // a push that hangs past its timeout is aborted; one whose process died is taken again after this
      expireInSeconds: push.timeout * 3 + 10,
      notify: true,
    };
    await boss.createQueue(PUSH_QUEUE, { policy: 'key_strict_fifo', ...queue });
    await boss.updateQueue(PUSH_QUEUE, queue); // a new release's settings for a queue made by an older one

    // pg-boss reads both drivers' results (an array on postgres.js, { rows } on PGlite)
    const inTransaction = (tx: Tx) => fromDrizzle(tx, sql);

    /**
     * orders.sync_status follows the order's oldest push not delivered yet: pending, error (with
     * sync_error) while it fails, success once none is left. Under the order's row lock, so that a
     * change committing meanwhile is counted.
     */
    async function recordPush(orderId: string, error?: string) {
      await app.db.transaction(async (tx) => {
        await tx.select({ id: orders.id }).from(orders).where(eq(orders.id, orderId)).for('update');
        if (error !== undefined) {
          await tx.update(orders).set({ syncStatus: 'error', syncError: error }).where(eq(orders.id, orderId));
          return;
        }
        const next = await boss.findJobs(PUSH_QUEUE, { key: orderId, queued: true, db: inTransaction(tx) });
        await tx
          .update(orders)
          .set({ syncStatus: next.length ? 'pending' : 'success', syncError: null, lastSynced: new Date() })
          .where(eq(orders.id, orderId));
      });
    }

    async function deliver({ orderId, status }: PushJob): Promise<void> {
      const id = /^[0-9]{1,15}$/.test(orderId) ? Number(orderId) : orderId;
      const response = await fetch(`${push!.url}/api/order/update/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': push!.apiKey },
        body: JSON.stringify({ form: push!.formKey, id, data: { statusId: status } }),
        signal: AbortSignal.timeout(push!.timeout * 1000),
      });
      const text = await response.text();
      // unreachable, overloaded or failing: the answer may be different next time
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        throw new Error(`SalesDrive answered ${response.status}: ${excerpt(text)}`);
      }
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        // judged by the status alone
      }
      if (!response.ok || fieldOf(answer, 'success') === false) {
        const message = fieldOf(answer, 'message');
        const reason = typeof message === 'string' ? message : text;
        throw new Refused(`SalesDrive refused status ${status}: ${response.status} ${excerpt(reason)}`);
      }
    }

    // NOTIFY wakes a worker for a new job; a retry that falls due, or the next job of an order
    // whose push just finished, is found by the poll (pg-boss's backstop default is 30 s)
    await boss.work<PushJob>(PUSH_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 2 }, async ([job]) => {
      const { orderId, status } = job!.data;
      try {
        await deliver(job!.data);
      } catch (error) {
        const message =
          error instanceof Error && error.name === 'TimeoutError'
            ? `SalesDrive did not answer in ${push.timeout} s`
            : String(fieldOf(error, 'message') ?? error);
        const refused = error instanceof Refused;
        app.metrics.salesdrivePush(refused ? 'refused' : 'failed');
        app.log.warn({ orderId, status, attempt: job!.retryCount + 1, retried: !refused }, `push to SalesDrive failed: ${message}`);
        await recordPush(orderId, message);
        if (refused) return; // done with: the order shows the error, the next change is not held back
        throw error;
      }
      app.metrics.salesdrivePush('delivered');
      await recordPush(orderId);
    });

    app.decorate('statusPush', {
      async enqueue(tx, orderId, status) {
        await boss.send(PUSH_QUEUE, { orderId, status } satisfies PushJob, { singletonKey: orderId, db: inTransaction(tx) });
      },
      async undelivered(tx, orderId) {
        const jobs = await boss.findJobs(PUSH_QUEUE, { key: orderId, db: inTransaction(tx) });
        return jobs.some((job) => UNDELIVERED.has(job.state));
      },
    } satisfies StatusPush);
  },
  { name: 'salesdrive-push', dependencies: ['db', 'metrics', 'jobs'] },
);
