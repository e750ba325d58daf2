/**
 * Prometheus metrics (prom-client), served on their own port (METRICS_PORT), never on the API's:
 * requests by route and status, the database pool, migrations, logins, refresh-token reuse, and
 * prom-client's process defaults (CPU, memory, event-loop delay, GC). One registry per app.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PortInUseError } from '../config.js';
import { pendingMigrations, readChain } from '../db/ledger.js';

export type LoginOutcome = 'success' | 'failure' | 'rate_limited';
/** What a SalesDrive webhook delivery did (routes/salesdrive-webhook.ts). */
export const DELIVERY_RESULTS = ['created', 'updated', 'unchanged', 'stale', 'ignored', 'refused', 'invalid', 'conflict'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];
/** What a push of a status change to SalesDrive did (plugins/salesdrive-push.ts). */
export const PUSH_OUTCOMES = ['delivered', 'failed', 'refused'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

/** How a catalogue sync from Dilovod ended (catalogue/runs.ts), and what its products were. */
export const CATALOGUE_RUN_STATES = ['succeeded', 'failed', 'refused'] as const;
export const CATALOGUE_PRODUCT_RESULTS = ['created', 'changed', 'unchanged', 'outdated'] as const;
export type CatalogueRunCounts = Record<(typeof CATALOGUE_PRODUCT_RESULTS)[number], number | null>;

/** The ways GET /orders?q= finds a page (orders/search.ts), and what a try of one came to. */
export const SEARCH_WAYS = ['walk', 'look_up'] as const;
export const SEARCH_TRY_OUTCOMES = ['found', 'beyond_bound'] as const;
export type SearchTry = (way: (typeof SEARCH_WAYS)[number], outcome: (typeof SEARCH_TRY_OUTCOMES)[number]) => void;

/** What the reconciliation with SalesDrive's order list found (salesdrive/reconcile.ts). */
export const RECONCILE_RESULTS = ['created', 'updated', 'unchanged', 'stale', 'invalid', 'conflict'] as const;

export interface Metrics {
  registry: Registry;
  /** A rotated refresh token presented again after the grace window: the session was ended. */
  refreshTokenReuse(): void;
  salesdriveDelivery(result: DeliveryResult): void;
  salesdrivePush(outcome: PushOutcome): void;
  /** A try of one of the ways GET /orders?q= finds a page, and what it came to. */
  orderSearchTry: SearchTry;
  /** A catalogue sync ended: its state, and (succeeded) what it did to the products. */
  catalogueSync(state: (typeof CATALOGUE_RUN_STATES)[number], counts: CatalogueRunCounts): void;
  /** A reconciliation with SalesDrive ended: failed, or succeeded with what it found per order. */
  salesdriveReconcile(outcome: 'succeeded' | 'failed', counts?: Record<(typeof RECONCILE_RESULTS)[number], number>): void;
  /** Where the metrics server listens, once the app is ready (undefined without a port). */
  address(): AddressInfo | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

const LOGIN_ROUTE = '/api/v1/auth/login';
/** A login's answer, by status: 200 in, 401 wrong e-mail or password, 403 deactivated, 429 limited. */
const LOGIN_OUTCOMES: Record<number, LoginOutcome> = { 200: 'success', 401: 'failure', 403: 'failure', 429: 'rate_limited' };

export default fp<{ port?: number; host?: string }>(
  async (app, { port, host }) => {
    const registry = new Registry();
    // only when served: their event-loop monitor made @fastify/under-pressure read no samples (and
    // shed requests) while PGlite held the loop in the tests' app, which has no metrics port
    if (port !== undefined) collectDefaultMetrics({ register: registry });

    const requests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'API requests by method, route (its pattern) and status code, from arrival to the last byte sent',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const logins = new Counter({
      name: 'backoffice_logins_total',
      help: 'Login attempts by outcome: success, failure (wrong credentials or deactivated account), rate_limited',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of new Set(Object.values(LOGIN_OUTCOMES))) logins.inc({ outcome }, 0);
    const reuse = new Counter({
      name: 'backoffice_refresh_token_reuse_detections_total',
      help: 'Rotated refresh tokens presented again after the grace window (the session is ended)',
      registers: [registry],
    });

    const searchTries = new Counter({
      name: 'backoffice_order_search_tries_total',
      help:
        'Tries of the ways GET /orders?q= finds a page (walk: the list in its order; look_up: the trigram index), by outcome: ' +
        'found, beyond_bound (more to read than the try may: the other way goes on)',
      labelNames: ['way', 'outcome'],
      registers: [registry],
    });
    for (const way of SEARCH_WAYS) for (const outcome of SEARCH_TRY_OUTCOMES) searchTries.inc({ way, outcome }, 0);

    const deliveries = new Counter({
      name: 'backoffice_salesdrive_webhook_deliveries_total',
      help:
        'SalesDrive webhook deliveries by result: created, updated, unchanged (a repeat), stale (older than the order), ' +
        'ignored (another event), refused (no or wrong secret, webhook disabled), invalid (a payload that cannot be stored)',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of DELIVERY_RESULTS) deliveries.inc({ result }, 0);
    const pushes = new Counter({
      name: 'backoffice_salesdrive_pushes_total',
      help:
        'Pushes of status changes to SalesDrive by outcome: delivered, failed (SalesDrive unreachable, slow or 5xx: retried), ' +
        'refused (SalesDrive answered that it will not take it: not retried, the order shows sync_status error)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of PUSH_OUTCOMES) pushes.inc({ outcome }, 0);

    const catalogueRuns = new Counter({
      name: 'backoffice_catalogue_sync_runs_total',
      help: 'Catalogue syncs from Dilovod by how they ended: succeeded, failed (Dilovod unreachable or wrong, the service stopping), refused (too large a share of the catalogue would go)',
      labelNames: ['state'],
      registers: [registry],
    });
    for (const state of CATALOGUE_RUN_STATES) catalogueRuns.inc({ state }, 0);
    const catalogueProducts = new Counter({
      name: 'backoffice_catalogue_sync_products_total',
      help: 'Products of the successful catalogue syncs by what the sync found: created, changed, unchanged, outdated (gone from Dilovod)',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of CATALOGUE_PRODUCT_RESULTS) catalogueProducts.inc({ result }, 0);

    const reconcileRuns = new Counter({
      name: 'backoffice_salesdrive_reconcile_runs_total',
      help: "Reads of SalesDrive's order list by outcome: succeeded (every page read and applied; the mark moved), failed (SalesDrive unreachable or refusing: the mark stays)",
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of ['succeeded', 'failed']) reconcileRuns.inc({ outcome }, 0);
    const reconciled = new Counter({
      name: 'backoffice_salesdrive_reconciled_orders_total',
      help:
        "Orders read from SalesDrive's order list by what the upsert did: created (its webhook was lost), updated (a change the webhooks missed), " +
        'unchanged, stale (the order here is newer), invalid (cannot be stored as SalesDrive has it), conflict (needs correcting here first)',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of RECONCILE_RESULTS) reconciled.inc({ result }, 0);

    const { pool } = app.database;
    if (pool) {
      new Gauge({
        name: 'backoffice_db_pool_connections',
        help:
          'Database connections of this process: in_use and idle out of the pool size; waiting: queries beyond it, ' +
          'queued behind others (postgres.js sends each query to an idle connection first)',
        labelNames: ['state'],
        registers: [registry],
        collect() {
          const inUse = Math.min(pool.inFlight, pool.max);
          this.set({ state: 'in_use' }, inUse);
          this.set({ state: 'idle' }, pool.max - inUse);
          this.set({ state: 'waiting' }, Math.max(0, pool.inFlight - pool.max));
        },
      });
      new Gauge({ name: 'backoffice_db_pool_max', help: 'Database connection pool size', registers: [registry] }).set(pool.max);
    }
    // A scrape never waits on the database (a saturated pool made one take 54 s): it reports what
    // the last check found and starts the next one, at most one at a time, in the background.
    let migrationState: { pending: number } | undefined;
    let checking: Promise<void> | undefined;
    const checkMigrations = () => {
      checking ??= pendingMigrations(app.database)
        .then(
          (pending) => void (migrationState = { pending: pending.length }),
          () => void (migrationState = undefined), // database unreachable: no figure rather than a stale one
        )
        .finally(() => (checking = undefined));
    };
    app.addHook('onReady', () => checkMigrations());
    new Gauge({
      name: 'backoffice_migrations',
      help: 'Migrations of the chain shipped with this build, applied to the database or pending (as of the previous scrape)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        checkMigrations();
        this.reset();
        if (!migrationState) return;
        this.set({ state: 'pending' }, migrationState.pending);
        this.set({ state: 'applied' }, readChain().length - migrationState.pending);
      },
    });

    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url;
      if (!route) return; // unknown paths (404) would make a label per probe and typo
      const labels = { method: request.method, route, status_code: String(reply.statusCode) };
      requests.observe(labels, reply.elapsedTime / 1000);
      const outcome = route === LOGIN_ROUTE && request.method === 'POST' ? LOGIN_OUTCOMES[reply.statusCode] : undefined;
      if (outcome) logins.inc({ outcome });
    });

    const server = port === undefined ? undefined : createServer(serveMetrics);
    app.decorate('metrics', {
      registry,
      refreshTokenReuse: () => reuse.inc(),
      salesdriveDelivery: (result) => deliveries.inc({ result }),
      salesdrivePush: (outcome) => pushes.inc({ outcome }),
      orderSearchTry: (way, outcome) => searchTries.inc({ way, outcome }),
      salesdriveReconcile: (outcome, counts) => {
        reconcileRuns.inc({ outcome });
        for (const result of RECONCILE_RESULTS) reconciled.inc({ result }, counts?.[result] ?? 0);
      },
      catalogueSync: (state, counts) => {
        catalogueRuns.inc({ state });
        if (state !== 'succeeded') return;
        for (const result of CATALOGUE_PRODUCT_RESULTS) catalogueProducts.inc({ result }, counts[result] ?? 0);
      },
      address: () => {
        const address = server?.address();
        return typeof address === 'object' && address !== null ? address : undefined; // a port, never a pipe's path
      },
    } satisfies Metrics);

    function serveMetrics(request: IncomingMessage, response: ServerResponse) {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: GET /metrics\n');
        return;
      }
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => {
          app.log.error({ err: error }, 'metrics collection failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    }
    if (server === undefined || port === undefined) return;
    const listening = server;
    app.addHook(
      'onReady',
      () =>
        new Promise<void>((resolve, reject) => {
          listening
            .once('error', (error: NodeJS.ErrnoException) =>
              reject(error.code === 'EADDRINUSE' ? new PortInUseError('METRICS_PORT', port, host ?? '::') : error),
            )
            .listen(port, host, () => resolve());
        }),
    );
    app.addHook(
      'onClose',
      () =>
        new Promise<void>((resolve) => {
          if (!listening.listening) return resolve();
          listening.close(() => resolve());
          listening.closeAllConnections();
        }),
    );
  },
  { name: 'metrics', dependencies: ['db'] },
);
