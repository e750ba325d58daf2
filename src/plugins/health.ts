/**
 * Probes. /livez: the process serves; it never touches the database. /readyz: the database
 * answers and no migration is pending; 503 otherwise, and from the moment shutdown begins. It never
 * hangs behind a saturated pool: when its query (which queues like any other) is not answered
 * within PROBE_TIMEOUT_MS it says "busy" (503). A full pool that moves (a busy, healthy replica)
 * answers the probe in milliseconds and stays ready.
 */
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { pendingMigrations } from '../db/ledger.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Turns /readyz to 503 (shutdown has begun). */
    markNotReady(): void;
  }
}

const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });
/** Under the kubelet's default probe timeout (1 s). */
const PROBE_TIMEOUT_MS = 800;

const timedOut = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());

export default fp(
  async (app) => {
    let shuttingDown = false;
    app.decorate('markNotReady', () => {
      shuttingDown = true;
    });
    app.addHook('onClose', async () => {
      shuttingDown = true;
    });

    const probe = {
      schema: { tags: ['health'], security: [], response: { 200: Status, 503: Status } },
      config: { access: 'public' as const },
      // two short strings: nothing to compile for the first probe, which a start waits for
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    };
    app.get('/livez', probe, async () => ({ status: 'ok' }));
    app.get('/readyz', probe, async (_request, reply) => {
      const notReady = (reason: string, status = 'unavailable') => reply.code(503).header('retry-after', '5').send({ status, reason });
      if (shuttingDown) return notReady('shutting down');
      try {
        const pending = await Promise.race([pendingMigrations(app.database), timedOut(PROBE_TIMEOUT_MS)]);
        if (pending === 'timeout') {
          const { pool } = app.database;
          const load = pool ? ` (${pool.inFlight} queries in flight for ${pool.max} connections)` : '';
          return notReady(`the database did not answer within ${PROBE_TIMEOUT_MS} ms${load}`, 'busy');
        }
        if (pending.length) return notReady(`${pending.length} migration(s) pending`);
      } catch {
        return notReady('database unreachable');
      }
      return { status: 'ok' };
    });
  },
  { name: 'health', dependencies: ['db'] },
);
