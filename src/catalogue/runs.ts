/**
 * A catalogue sync run, from the request to its end: read Dilovod's whole catalogue, plan, check the
 * share guard, apply, all recorded in catalogue_sync_runs. The read writes nothing; the changes and
 * the run's success are one transaction, so a run stopped anywhere (an error, the service stopping,
 * the process killed) changes no product. A run whose process died is found by its heartbeat and
 * marked failed by the next run.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { listPage } from '../db/pages.js';
import { catalogueSyncRuns } from '../db/schema.js';
import { fieldOf } from '../field-of.js';
import type { DilovodClient } from '../dilovod/client.js';
import { readCatalogue, type CatalogueSettings } from './from-dilovod.js';
import { applySync, planSync, refusal } from './sync.js';

/** Seconds between heartbeats at most, and how old a running run's heartbeat may be before it counts as dead. */
export const HEARTBEAT_SECONDS = 10;
export const DEAD_AFTER_SECONDS = 120;

export type Run = typeof catalogueSyncRuns.$inferSelect;
export type RunOutcome = 'succeeded' | 'failed' | 'refused';

export interface RunSettings extends CatalogueSettings {
  /** Percent. */
  maxChangeShare: number;
}

/** What GET /products/sync/runs shows of a run (all but its heartbeat). */
const shownColumns = {
  id: catalogueSyncRuns.id,
  trigger: catalogueSyncRuns.trigger,
  requestedBy: catalogueSyncRuns.requestedBy,
  allowLargeChange: catalogueSyncRuns.allowLargeChange,
  state: catalogueSyncRuns.state,
  created: catalogueSyncRuns.created,
  changed: catalogueSyncRuns.changed,
  unchanged: catalogueSyncRuns.unchanged,
  outdated: catalogueSyncRuns.outdated,
  error: catalogueSyncRuns.error,
  queuedAt: catalogueSyncRuns.queuedAt,
  startedAt: catalogueSyncRuns.startedAt,
  finishedAt: catalogueSyncRuns.finishedAt,
};

/** A run with how long it took (rows of the list come untyped: read as what they may be). */
export const withDuration = <T extends Record<string, unknown>>(run: T) => ({
  ...run,
  durationMs: run.startedAt instanceof Date && run.finishedAt instanceof Date ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
});

/** A page of the runs, newest first. */
export async function runsPage(db: Db, query: { limit?: number; cursor?: string }) {
  const page = await listPage(
    db,
    {
      table: catalogueSyncRuns,
      idColumn: catalogueSyncRuns.id,
      columns: shownColumns,
      sort: 'queuedAt',
      sortColumn: catalogueSyncRuns.queuedAt,
    },
    { ...query, order: 'desc' },
    [],
  );
  return { ...page, items: page.items.map(withDuration) };
}

/** One run as the API shows it; undefined when there is none. */
export async function runById(db: Db, id: string) {
  const [run] = await db.select(shownColumns).from(catalogueSyncRuns).where(eq(catalogueSyncRuns.id, id));
  return run && withDuration(run);
}

/** The run waiting to start, if any (a second request joins it rather than queueing another). */
export async function queuedRun(tx: Tx): Promise<Run | undefined> {
  const [run] = await tx.select().from(catalogueSyncRuns).where(eq(catalogueSyncRuns.state, 'queued')).limit(1);
  return run;
}

export async function createRun(
  db: Db | Tx,
  values: { trigger: 'schedule' | 'manual'; requestedBy?: number; allowLargeChange?: boolean },
): Promise<Run> {
  const [run] = await db.insert(catalogueSyncRuns).values(values).returning();
  return run!;
}

/** Runs marked running whose process stopped beating: failed, as nothing of theirs was applied. */
export async function failDeadRuns(db: Db): Promise<number> {
  const dead = await db
    .update(catalogueSyncRuns)
    .set({
      state: 'failed',
      error: 'Interrupted: the process running it stopped before it finished; nothing of it was applied',
      finishedAt: new Date(),
    })
    .where(
      and(
        eq(catalogueSyncRuns.state, 'running'),
        lt(catalogueSyncRuns.heartbeatAt, sql`now() - make_interval(secs => ${DEAD_AFTER_SECONDS})`),
      ),
    )
    .returning({ id: catalogueSyncRuns.id });
  return dead.length;
}

/**
 * Runs one sync. The run row exists (queued); it ends succeeded, refused or failed, whatever
 * happens, unless the process dies (then failDeadRuns ends it).
 */
export async function executeRun(db: Db, client: DilovodClient, settings: RunSettings, runId: string, signal: AbortSignal): Promise<Run> {
  await failDeadRuns(db);
  const [started] = await db
    .update(catalogueSyncRuns)
    .set({ state: 'running', startedAt: new Date(), heartbeatAt: new Date(), error: null })
    .where(and(eq(catalogueSyncRuns.id, runId), eq(catalogueSyncRuns.state, 'queued')))
    .returning();
  if (!started) throw new Error(`catalogue sync run ${runId} is not waiting to run`);
  let lastBeat = Date.now();
  const heartbeat = async () => {
    if (Date.now() - lastBeat < HEARTBEAT_SECONDS * 1000) return;
    lastBeat = Date.now();
    await db.update(catalogueSyncRuns).set({ heartbeatAt: new Date() }).where(eq(catalogueSyncRuns.id, runId));
  };
  const finish = async (runner: Db | Tx, state: RunOutcome, values: Partial<Run>) => {
    const [run] = await runner
      .update(catalogueSyncRuns)
      .set({ ...values, state, finishedAt: new Date() })
      .where(eq(catalogueSyncRuns.id, runId))
      .returning();
    return run!;
  };
  try {
    const fetched = await readCatalogue(client, settings, signal, heartbeat);
    signal.throwIfAborted();
    return await db.transaction(async (tx) => {
      // one apply at a time whatever the queue does: plans are made from what is committed
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('catalogue-sync', 0))`);
      const plan = await planSync(tx, fetched);
      const counts = {
        created: plan.created.length,
        changed: plan.changed.length,
        unchanged: plan.unchanged,
        outdated: plan.outdated.length,
      };
      const refused = started.allowLargeChange ? undefined : refusal(plan, settings.maxChangeShare);
      if (refused) return finish(tx, 'refused', { ...counts, error: refused });
      const now = new Date();
      await applySync(tx, plan, now);
      return finish(tx, 'succeeded', counts);
    });
  } catch (error) {
    const message = signal.aborted
      ? 'Interrupted: the service stopped before the run finished; nothing of it was applied'
      : String(fieldOf(error, 'message') ?? error);
    return finish(db, 'failed', { error: message.slice(0, 2000) });
  }
}
