/**
 * The OpenAPI description, generated from the route schemas: GET /openapi.json, and a UI at /docs.
 *
 * The UI (@fastify/swagger-ui, with @fastify/static under it) is built on the first request to
 * /docs, in a Fastify instance of its own that this app forwards /docs/* to: registering it with
 * the app was about a tenth of every start (20-25 ms of CPU), for pages a person opens now and then.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

const PREFIX = '/docs';
/** Set again by this app's own reply. */
const NOT_FORWARDED = new Set(['connection', 'date', 'keep-alive', 'transfer-encoding']);

/** `ui: false` (DOCS_UI=false): no Swagger UI; /openapi.json stays. */
export default fp<{ ui: boolean }>(
  async (app, { ui: withUi }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'backoffice-api',
          version: '1',
          description:
            'The back office of the food shop: orders, products, boxes, users. No string may hold the character U+0000 (NUL), which ' +
            'text cannot store: a 400 names the field that does.',
        },
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        security: [{ bearerAuth: [] }],
      },
    });
    app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
    if (!withUi) return;

    let ui: Promise<FastifyInstance> | undefined;
    const buildUi = async () => {
      const { default: swaggerUi } = await import('@fastify/swagger-ui');
      const instance = Fastify();
      // the UI serves this app's description, under the plugin name it depends on
      await instance.register(fp(async (docs) => void docs.decorate('swagger', app.swagger.bind(app)), { name: '@fastify/swagger' }));
      await instance.register(swaggerUi, { routePrefix: PREFIX, uiConfig: { persistAuthorization: true } });
      await instance.ready();
      return instance;
    };
    app.addHook('onClose', async () => {
      const instance = await ui?.catch(() => undefined);
      await instance?.close();
    });
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      ui ??= buildUi().catch((error: unknown) => {
        ui = undefined; // the next request tries again
        throw error;
      });
      // streamed, as the UI reads its files: a client that does not read holds a socket's buffers, not the file
      const answer = await (
        await ui
      ).inject({ method: request.method === 'HEAD' ? 'HEAD' : 'GET', url: request.url, headers: request.headers, payloadAsStream: true });
      const body = answer.stream();
      if (answer.statusCode === 404) {
        body.destroy();
        return reply.callNotFound(); // answered like any other unknown path
      }
      const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !NOT_FORWARDED.has(name)));
      return reply.code(answer.statusCode).headers(headers).send(body);
    };
    const route = { schema: { hide: true }, config: { access: 'public' as const } };
    app.get(PREFIX, route, forward);
    app.get(`${PREFIX}/*`, route, forward);
  },
  { name: 'docs' },
);
