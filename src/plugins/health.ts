/**
 * Probes. /livez: the process serves; it never touches the database. /readyz: the database
 * answers and no migration is pending; 503 otherwise, and from the moment shutdown begins.
 */
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { pendingMigrations } from '../db/migrations.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Turns /readyz to 503 (shutdown has begun). */
    markNotReady(): void;
  }
}

const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });

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
      const notReady = (reason: string) => reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason });
      if (shuttingDown) return notReady('shutting down');
      try {
        const pending = await pendingMigrations(app.database);
        if (pending.length) return notReady(`${pending.length} migration(s) pending`);
      } catch {
        return notReady('database unreachable');
      }
      return { status: 'ok' };
    });
  },
  { name: 'health', dependencies: ['db'] },
);
