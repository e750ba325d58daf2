/**
 * Builds the Fastify instance from its plugins, in one visible place. Used by the server and by
 * the tests (`app.inject`).
 */
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { prepareDummyHash } from './auth/passwords.js';
import { deferredCompilers } from './compilers.js';
import { DEFAULT_CLIENT_LIMITS, DEFAULT_MAX_EVENT_LOOP_DELAY, DEFAULT_WEBHOOK_RATE_LIMIT, type Config } from './config.js';
import type { DatabaseClient } from './db/client.js';
import { databaseStore } from './db/rate-limit-store.js';
import authPlugin from './plugins/auth.js';
import dbPlugin from './plugins/db.js';
import docsPlugin from './plugins/docs.js';
import { HttpError } from './errors.js';
import { registerFormats } from './formats.js';
import { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH, transportResponses } from './http-limits.js';
import errorsPlugin from './plugins/errors.js';
import healthPlugin from './plugins/health.js';
import metricsPlugin from './plugins/metrics.js';
import revocationPlugin from './plugins/revocation.js';
import jsonBodyPlugin from './plugins/json-body.js';
import salesdrivePushPlugin from './plugins/salesdrive-push.js';
import catalogueSyncPlugin from './plugins/catalogue-sync.js';
import salesdriveReconcilePlugin from './plugins/salesdrive-reconcile.js';
import jobsPlugin from './plugins/jobs.js';
import authRoutes from './routes/auth.js';
import boxSettingsRoutes from './routes/box-settings.js';
import orderHistoryRoutes from './routes/order-history.js';
import ordersRoutes from './routes/orders.js';
import orderFeedsRoutes from './routes/order-feeds.js';
import packingListRoutes from './routes/packing-list.js';
import productsRoutes from './routes/products.js';
import productSyncRoutes from './routes/product-sync.js';
import salesdriveWebhookRoutes from './routes/salesdrive-webhook.js';
import shopSettingsRoutes from './routes/shop-settings.js';
import { ErrorResponse, Strict } from './schemas.js';
import usersRoutes from './routes/users.js';
import wordpressSkuCacheRoutes from './routes/wordpress-sku-cache.js';

/** Never logged: credentials in headers, and any password, token or hash in a logged object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-webhook-secret"]',
  '*.password',
  '*.currentPassword',
  '*.passwordHash',
  '*.refreshToken',
  '*.accessToken',
  '*.refreshTokenHash',
  '*.previousRefreshTokenHash',
  '*.sessions',
];

export type AppConfig = Pick<
  Config,
  | 'database'
  | 'accessTokenTtl'
  | 'refreshTokenTtl'
  | 'refreshReuseGrace'
  | 'loginRateLimit'
  | 'loginRateLimitPerClient'
  | 'maxSessionsPerUser'
> &
  Partial<Pick<Config, 'trustProxy' | 'salesdrive' | 'dilovod' | 'statementTimeout' | 'clients' | 'docsUi' | 'maxEventLoopDelay'>> & {
    jwtSecret: string;
  } &
  /** The metrics server listens only when metricsPort is given (the server gives it; tests may). */
  Partial<Pick<Config, 'metricsPort' | 'host'>>;

/**
 * How long a plugin may take to register. Fastify's default (10 s) stopped starts on a loaded host:
 * opening PGlite (its WebAssembly) or pg-boss creating its schema on a busy database; a start that
 * hangs is the startup probe's to end.
 */
const PLUGIN_TIMEOUT_MS = 120_000;

/** A secret in a query string (the SalesDrive webhook's ?token=) is not logged. */
const withoutSecrets = (url: string) => url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');

/** The request's logger is pino's when logging is on; without a logger (logLevel unset), Fastify's no-op one, which has no levels. */
const isPino = (log: FastifyBaseLogger): log is Logger => 'isLevelEnabled' in log;

/** One log line per request, when it completes: what was asked, the answer, how long it took. */
class OneLinePerRequest extends LogController {
  override incomingRequest() {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    if (!isPino(request.log) || !request.log.isLevelEnabled('info')) return;
    const line = {
      method: request.method,
      url: withoutSecrets(request.url),
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ip: request.ip,
    };
    if (error) request.log.error({ ...line, err: error }, 'request errored');
    else request.log.info(line, 'request');
  }
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function refuseBody(request: FastifyRequest) {
  const { body } = request;
  if (body === undefined || body === null) return;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) return;
  throw new HttpError(400, 'FST_ERR_VALIDATION', 'body must be empty: this route takes none');
}

export interface BuildOptions {
  /** No logs when unset. */
  logLevel?: string;
  /** Where log lines go (default: stdout). */
  logStream?: DestinationStream;
  /** The database, already open (closed with the app); otherwise the app opens config.database. */
  database?: DatabaseClient;
}

export async function buildApp(config: AppConfig, { logLevel, logStream, database }: BuildOptions = {}) {
  registerFormats();
  const compilers = deferredCompilers();
  const clients = config.clients ?? DEFAULT_CLIENT_LIMITS;
  const app = Fastify({
    pluginTimeout: PLUGIN_TIMEOUT_MS,
    logger: logLevel
      ? { level: logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, ...(logStream ? { stream: logStream } : {}) }
      : false,
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    logController: new OneLinePerRequest(),
    trustProxy: config.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // a client that sends slowly, or stops reading what it asked for, is cut off (README, "Under faults")
    requestTimeout: clients.requestTimeout * 1000,
    connectionTimeout: clients.connectionTimeout * 1000,
    keepAliveTimeout: clients.connectionTimeout * 1000,
    // Node checks the request and header timeouts every 30 s by default: a slow sender then had up to that long more
    http: { connectionsCheckingInterval: 1000, headersTimeout: Math.min(10, clients.requestTimeout) * 1000 },
    schemaController: { compilersFactory: { buildSerializer: compilers.buildSerializer } },
    // what Node and the router refuse, answered in the one error shape (src/http-limits.ts)
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.maxConnections = clients.maxConnections;
  // strict validation: unknown fields are rejected, not stripped; only query and params are coerced
  app.setValidatorCompiler(compilers.validatorCompiler);
  // what the first requests did not need yet, prepared in the idle time after the server listens:
  // the schemas they did not compile, and the hash unknown e-mails are checked against
  app.decorate('compileSchemas', compilers.compileRemaining);
  let warmUp: NodeJS.Timeout | undefined;
  app.addHook('onListen', () => {
    warmUp = setTimeout(() => {
      void prepareDummyHash();
      app.compileSchemas().catch((err: unknown) => app.log.error({ err }, 'a route schema does not compile'));
    }, 1000);
  });
  app.addHook('onClose', () => clearTimeout(warmUp));
  app.addSchema(ErrorResponse);
  // a route that takes no query parameters refuses unknown ones too, and one that takes no body
  // refuses a body with fields (an empty object or none is fine)
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return;
    if (!route.schema.querystring) route.schema.querystring = Strict({});
    route.schema.response = { ...transportResponses(route), ...(route.schema.response ?? {}) };
    if (!route.schema.body && [route.method].flat().some((method) => BODY_METHODS.has(method))) {
      route.preValidation = [refuseBody, ...[route.preValidation ?? []].flat()];
    }
  });

  await app.register(errorsPlugin);
  await app.register(jsonBodyPlugin);
  await app.register(dbPlugin, { target: config.database, client: database, statementTimeout: config.statementTimeout });
  await app.register(metricsPlugin, { port: config.metricsPort, host: config.host });
  await app.register(docsPlugin, { ui: config.docsUi ?? true });
  await app.register(rateLimit, {
    global: false,
    // counted in the database, so that every replica sees every attempt
    store: databaseStore(app.db),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      error: 'Too Many Requests',
      message: `Too many attempts; try again in ${context.after}`,
    }),
  });
  await app.register(revocationPlugin);
  await app.register(authPlugin, { secret: config.jwtSecret, accessTokenTtl: config.accessTokenTtl });
  await app.register(healthPlugin);
  const salesdrive = config.salesdrive ?? { webhookRateLimit: DEFAULT_WEBHOOK_RATE_LIMIT };
  // jobs under way get the longest a call to SalesDrive or Dilovod may take to finish when the app stops
  await app.register(jobsPlugin, {
    target: config.database,
    stopTimeout: Math.max(salesdrive.push?.timeout ?? 0, config.dilovod?.timeout ?? 0) + 1,
  });
  await app.register(salesdrivePushPlugin, { push: salesdrive.push });
  await app.register(salesdriveReconcilePlugin, { salesdrive: salesdrive.push });
  await app.register(catalogueSyncPlugin, { dilovod: config.dilovod });

  await app.register(
    async (api) => {
      // load shedding for the API only: /livez and /readyz are never shed. On event-loop delay
      // alone: utilisation reads ~1 for the sample after start-up (schemas compiling) and on a
      // CPU-starved host while requests still answer, and shed those (CI saw 503s on Node 22).
      // On PostgreSQL only: PGlite runs the database's own work on this event loop, so a long
      // query or its opening read as lag, and the requests after it were refused (CI saw 503s)
      if ('url' in config.database) {
        await api.register(underPressure, {
          maxEventLoopDelay: config.maxEventLoopDelay ?? DEFAULT_MAX_EVENT_LOOP_DELAY,
          retryAfter: 5,
          pressureHandler: (_request, reply, type, value) => {
            reply
              .code(503)
              .header('retry-after', '5')
              .send({
                statusCode: 503,
                code: 'OVERLOADED',
                error: 'Service Unavailable',
                message: `The service is overloaded (${type} ${value}); try again shortly`,
              });
          },
        });
      }
      await api.register(authRoutes, config);
      await api.register(usersRoutes);
      await api.register(ordersRoutes);
      await api.register(packingListRoutes);
      await api.register(orderFeedsRoutes);
      await api.register(orderHistoryRoutes);
      await api.register(productsRoutes);
      await api.register(productSyncRoutes);
      await api.register(boxSettingsRoutes);
      await api.register(wordpressSkuCacheRoutes);
      await api.register(salesdriveWebhookRoutes, salesdrive);
      await api.register(shopSettingsRoutes);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
