/** /api/v1/products/sync: the catalogue sync from Dilovod, started by an admin and watched run by run. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { runById, runsPage, withDuration } from '../catalogue/runs.js';
import { CATALOGUE_SYNC_STATES, CATALOGUE_SYNC_TRIGGERS } from '../db/schema.js';
import { HttpError, notFound } from '../errors.js';
import { errorResponses, ListOf, Nullable, OneOf, Page, Strict, Timestamp } from '../schemas.js';

const Count = (what: string) => Nullable(Type.Integer({ description: `${what}; null until the run has planned` }));

const exampleRun = {
  id: '0b9e4c1a-6f0d-4e57-9a43-5c1d2f3e4a5b',
  trigger: 'manual',
  requestedBy: 1,
  allowLargeChange: false,
  state: 'succeeded',
  created: 3,
  changed: 12,
  unchanged: 461,
  outdated: 1,
  error: null,
  queuedAt: '2026-11-30T03:00:00.000Z',
  startedAt: '2026-11-30T03:00:00.412Z',
  finishedAt: '2026-11-30T03:00:41.907Z',
  durationMs: 41495,
};

const SyncRun = Type.Object(
  {
    id: Type.String(),
    trigger: OneOf(CATALOGUE_SYNC_TRIGGERS, { description: 'schedule: DILOVOD_SYNC_INTERVAL; manual: an admin asked' }),
    requestedBy: Nullable(Type.Integer({ description: 'the admin who asked (manual runs)' })),
    allowLargeChange: Type.Boolean({ description: 'applied even beyond DILOVOD_MAX_CHANGE_SHARE' }),
    state: OneOf(CATALOGUE_SYNC_STATES, {
      description:
        'queued; running; succeeded: applied; failed: Dilovod unreachable, slow, answering an error or data that cannot be taken, or the service stopped ' +
        '(nothing applied); refused: it would take more than DILOVOD_MAX_CHANGE_SHARE of the catalogue away (nothing applied; the counts say what it would have done)',
    }),
    created: Count('products new from Dilovod'),
    changed: Count('products whose Dilovod fields changed'),
    unchanged: Count('products as they were'),
    outdated: Count('products gone from Dilovod, marked outdated'),
    error: Nullable(Type.String({ description: 'why it failed or was refused' })),
    queuedAt: Timestamp,
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
    durationMs: Nullable(Type.Integer({ description: 'from start to finish' })),
  },
  { $id: 'CatalogueSyncRun', title: 'Catalogue sync run', examples: [exampleRun] },
);

const productSyncRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/products/sync',
    {
      schema: {
        tags: ['products'],
        summary: 'Sync the catalogue from Dilovod now',
        description:
          'Answers 202 at once with the run; GET /products/sync/runs/:id follows it. A run already waiting is joined, not doubled. ' +
          '?allowLargeChange=true applies a run even when it would mark outdated or leave without a price more than DILOVOD_MAX_CHANGE_SHARE of the catalogue.',
        querystring: Strict({
          allowLargeChange: Type.Optional(Type.Boolean({ description: 'true: apply it even beyond DILOVOD_MAX_CHANGE_SHARE' })),
        }),
        response: { ...errorResponses, 202: SyncRun },
      },
      config: { access: { resource: 'feeds', action: 'create' } },
    },
    async (request, reply) => {
      if (!app.catalogueSync)
        throw new HttpError(
          409,
          'DILOVOD_DISABLED',
          'The catalogue sync is off: the service has no DILOVOD_URL (README, "Products from Dilovod")',
        );
      const { run } = await app.catalogueSync.request({
        userId: request.user.id,
        allowLargeChange: request.query.allowLargeChange ?? false,
      });
      reply.code(202).header('location', `${request.url.split('?')[0]}/runs/${run.id}`);
      return withDuration(run);
    },
  );

  app.get(
    '/products/sync/runs',
    {
      schema: {
        tags: ['products'],
        summary: 'The catalogue syncs from Dilovod, newest first',
        querystring: Strict({ limit: Type.Optional(Page.limit), cursor: Type.Optional(Page.cursor) }),
        response: { ...errorResponses, 200: ListOf(SyncRun) },
      },
      config: { access: { resource: 'feeds', action: 'read' } },
    },
    async (request) => {
      return runsPage(app.db, request.query);
    },
  );

  app.get(
    '/products/sync/runs/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'One catalogue sync run',
        params: Strict({ id: Type.String({ format: 'uuid' }) }),
        response: { ...errorResponses, 200: SyncRun },
      },
      config: { access: { resource: 'feeds', action: 'read' } },
    },
    async (request) => {
      const run = await runById(app.db, request.params.id);
      if (!run) throw notFound('Sync run');
      return run;
    },
  );
};

export default productSyncRoutes;
