/**
 * Configuration from environment variables, validated once at startup. Every bad value gets its
 * own message naming the variable; `.env.example` lists them all.
 */
import { existsSync } from 'node:fs';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { DatabaseTarget } from './db/client.js';

const seconds = (description: string, fallback: number, minimum = 1) =>
  Type.Integer({ minimum, maximum: 10 * 365 * 24 * 3600, default: fallback, description });

const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('production'), Type.Literal('development'), Type.Literal('test')], {
    default: 'development',
  }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'postgres://user:password@host:5432/db' })),
  DIRECT_DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description: 'PostgreSQL itself, for the migrator, when DATABASE_URL goes through PgBouncer',
    }),
  ),
  DATABASE_TRANSACTION_POOLER: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description: 'true when DATABASE_URL goes through PgBouncer in transaction mode: no named prepared statements, no pipelining',
  }),
  PGLITE_DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  HOST: Type.Optional(Type.String({ minLength: 1, description: 'default 127.0.0.1, and 0.0.0.0 when NODE_ENV=production' })),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: 'Prometheus metrics, never on PORT' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'at least 32 characters' })),
  ACCESS_TOKEN_TTL: seconds('access token lifetime, seconds', 15 * 60),
  REFRESH_TOKEN_TTL: seconds('refresh token lifetime, seconds', 30 * 24 * 3600),
  REFRESH_REUSE_GRACE: seconds('seconds during which a just-rotated refresh token is refused without revoking', 10, 0),
  LOGIN_RATE_LIMIT: Type.Integer({ minimum: 1, maximum: 10_000, default: 10, description: 'login attempts per minute per e-mail' }),
  LOGIN_RATE_LIMIT_PER_CLIENT: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 60,
    description: 'login attempts per minute per client address (a warehouse behind one NAT logs in together)',
  }),
  MAX_SESSIONS_PER_USER: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 5,
    description: 'refresh-token sessions (devices) a user may hold at once; a new login beyond it ends the oldest',
  }),
  TRUST_PROXY: Type.String({
    pattern: '^(true|false|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$',
    default: 'false',
    description: 'whose X-Forwarded-For to believe: false, true (anyone: spoofable), or proxy addresses/CIDRs separated by commas',
  }),
  REQUEST_TIMEOUT: seconds('seconds a client has to send a whole request, headers and body (a slow sender is cut off: 408)', 30),
  CONNECTION_TIMEOUT: seconds(
    'seconds a connection may pass with nothing received or sent (a client that stops reading, an idle keep-alive) before it is closed; above the 60 s after which proxies close idle connections',
    75,
  ),
  MAX_CONNECTIONS: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 1000,
    description: 'open connections this process takes at once; beyond it new ones are closed',
  }),
  MAX_EVENT_LOOP_DELAY: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description: 'event-loop delay (ms, the mean over a second) past which the API answers 503 OVERLOADED on PostgreSQL; 0: never',
  }),
  DOCS_UI: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'true',
    description: 'false: no Swagger UI at /docs (/openapi.json stays)',
  }),
  STATEMENT_TIMEOUT: seconds(
    'seconds a database statement of a request may run (PostgreSQL statement_timeout; 0: none); longer is a 503',
    10,
    0,
  ),
  SHUTDOWN_DELAY: seconds('seconds /readyz answers 503 before the server stops taking connections', 0, 0),
  SHUTDOWN_TIMEOUT: seconds('seconds in-flight requests get to finish on shutdown', 10),
  SALESDRIVE_WEBHOOK_SECRET: Type.Optional(
    Type.String({
      minLength: 24,
      maxLength: 200,
      description: 'the shared secret SalesDrive sends with its webhook, at least 24 characters; unset, the webhook refuses every call',
    }),
  ),
  SALESDRIVE_WEBHOOK_RATE_LIMIT: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 600,
    description: 'webhook calls per minute per client address',
  }),
  SALESDRIVE_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/?#]+(/[^?#]*)?$',
      description: "SalesDrive's address, e.g. https://shop.salesdrive.me; unset, status changes are not pushed",
    }),
  ),
  SALESDRIVE_API_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "SalesDrive's API key (X-Api-Key)" })),
  SALESDRIVE_FORM_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "the form key of SalesDrive's order API" })),
  SALESDRIVE_TIMEOUT: seconds('seconds a push to SalesDrive may take before it counts as failed and is retried', 10),
  SALESDRIVE_RETRY_DELAY: seconds(
    'seconds before the first retry of a failed push; each next one waits about twice as long, at most 10 minutes',
    10,
  ),
  DILOVOD_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/?#]+(/[^?#]*)?$',
      description: "Dilovod's API address, e.g. https://api.dilovod.ua; unset, the catalogue is not synced",
    }),
  ),
  DILOVOD_API_KEY: Type.Optional(
    Type.String({ minLength: 1, maxLength: 500, description: "Dilovod's API key (sent in the request body)" }),
  ),
  DILOVOD_SYNC_INTERVAL: Type.Integer({
    minimum: 0,
    maximum: 7 * 24 * 60,
    default: 60,
    description: 'minutes between scheduled catalogue syncs; 0: only when an admin asks (POST /api/v1/products/sync)',
  }),
  DILOVOD_TIMEOUT: seconds('seconds one call to Dilovod may take before it counts as failed', 30),
  DILOVOD_RETRIES: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 3,
    description: 'retries of a failed read from Dilovod (unreachable, slow, 5xx, busy), with backoff',
  }),
  DILOVOD_RETRY_DELAY: seconds('seconds before the first retry of a read from Dilovod; each next one waits twice as long', 2, 0),
  DILOVOD_MAX_CHANGE_SHARE: Type.Integer({
    minimum: 0,
    maximum: 100,
    default: 10,
    description: 'percent of the catalogue a sync may mark outdated or leave without a price; a run beyond it stops without applying',
  }),
  DILOVOD_SET_PARENT_IDS: Type.String({
    pattern: '^[0-9]{1,20}(,[0-9]{1,20})*$',
    default: '1100300000001315',
    description: 'Dilovod folder ids whose goods are sets, separated by commas',
  }),
  DILOVOD_MAIN_PRICE_TYPE: Type.String({
    pattern: '^[0-9]{1,20}$',
    default: '1101300000001001',
    description: "the Dilovod price type that is a product's price (costPerItem); the others go to additionalPrices",
  }),
  SALESDRIVE_RECONCILE_INTERVAL: Type.Integer({
    minimum: 0,
    maximum: 24 * 60,
    default: 5,
    description: "minutes between reads of SalesDrive's order list (the orders whose webhook was lost); 0: only when an admin asks",
  }),
  SALESDRIVE_RECONCILE_OVERLAP: seconds("seconds each read of SalesDrive's order list goes back before the last one read up to", 600, 0),
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'e-mail of the first admin' })),
  ADMIN_PASSWORD: Type.Optional(
    Type.String({ minLength: 8, maxLength: 200, description: 'password of the first admin, 8 to 200 characters' }),
  ),
});
type Env = Static<typeof EnvSchema>;

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  database: DatabaseTarget;
  host: string;
  port: number;
  metricsPort: number;
  logLevel: string;
  /** JWT_SECRET; unset, the embedded database's installation secret is used (auth/installation-secret.ts). */
  jwtSecret?: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshReuseGrace: number;
  /** Login attempts per minute per e-mail, and per client address. */
  loginRateLimit: number;
  loginRateLimitPerClient: number;
  /** Sessions (devices) per user; the oldest is evicted beyond it. */
  maxSessionsPerUser: number;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For gives the client's address. */
  trustProxy: boolean | string[];
  /** Seconds a request's database statement may run (0: no limit). */
  statementTimeout: number;
  /** What a client may hold of this process: seconds to send a request, seconds of silence, connections. */
  clients: ClientLimits;
  /** The Swagger UI at /docs. */
  docsUi: boolean;
  /** Event-loop delay (ms) past which the API sheds requests (503 OVERLOADED); 0: never. */
  maxEventLoopDelay: number;
  shutdownDelay: number;
  shutdownTimeout: number;
  /** Who the first admin is, when the database has no users. */
  firstAdmin: { email: string; password?: string };
  salesdrive: SalesDriveConfig;
  /** Unset without DILOVOD_URL: the catalogue is not synced. */
  dilovod?: DilovodConfig;
}

export interface DilovodConfig {
  url: string;
  apiKey: string;
  /** Minutes between scheduled syncs; 0: only on demand. */
  syncInterval: number;
  /** Seconds. */
  timeout: number;
  retries: number;
  retryDelay: number;
  /** Percent. */
  maxChangeShare: number;
  setParentIds: string[];
  mainPriceType: string;
}

export interface ClientLimits {
  /** Seconds. */
  requestTimeout: number;
  connectionTimeout: number;
  maxConnections: number;
}

export interface SalesDriveConfig {
  /** Unset: the webhook refuses every call. */
  webhookSecret?: string;
  /** Webhook calls per minute per client address. */
  webhookRateLimit: number;
  /** Unset: status changes are not pushed to SalesDrive. */
  push?: SalesDrivePush;
}

export interface SalesDrivePush {
  url: string;
  apiKey: string;
  formKey: string;
  /** Seconds. */
  timeout: number;
  retryDelay: number;
  /** Minutes between reconciliations (0 or unset: on demand only); seconds each goes back before the mark (unset: DEFAULT_RECONCILE_OVERLAP). */
  reconcileInterval?: number;
  reconcileOverlap?: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A port of the configuration is taken: the message names the variable that chose it. */
export class PortInUseError extends Error {
  constructor(variable: 'PORT' | 'METRICS_PORT', port: number, host: string) {
    super(`Port ${port} on ${host} is already in use: stop what listens there, or set ${variable} to another port.`);
  }
}

type PropertySchema = TSchema & { description?: string; type?: string; anyOf?: { const?: unknown }[] };

/** A URL as it may be shown: its password masked; nothing of it when it does not parse. */
export function maskedUrl(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.password) url.password = '***';
  return url.toString();
}

/**
 * One message per bad variable: its name and the rule, never its value (a secret often sits in
 * the wrong variable); a URL is shown with its password masked.
 */
function checkVariable(name: string, raw: string, schema: PropertySchema): string | undefined {
  const shown = name === 'DATABASE_URL' ? maskedUrl(raw) : undefined;
  const problem = (what: string) => `${name}${shown ? ` (${shown})` : ''}: ${what}${schema.description ? ` (${schema.description})` : ''}`;
  if (schema.type === 'integer' && !/^-?\d+$/.test(raw)) return problem('must be a whole number');
  const value = Value.Convert(schema, raw);
  if (name === 'DATABASE_URL' && !shown) return problem('is not a valid URL');
  if (Value.Check(schema, value)) return undefined;
  if (schema.anyOf?.every((option) => option.const !== undefined)) {
    return problem(`must be one of ${schema.anyOf.map((option) => String(option.const)).join(', ')}`);
  }
  return problem([...Value.Errors(schema, value)][0]?.message ?? 'is not valid');
}

/** `.env` in the working directory (npm scripts: the project's), when present; a variable set in the environment wins. */
export function readEnvFile(file = '.env') {
  if (existsSync(file)) process.loadEnvFile(file);
}

/** What each setting is when its variable is unset (cast: Value.Default answers unknown; EnvSchema gives each of these a default). */
const DEFAULTS = Value.Default(EnvSchema, {}) as Env;
const clientLimitsOf = (values: Env): ClientLimits => ({
  requestTimeout: values.REQUEST_TIMEOUT,
  connectionTimeout: values.CONNECTION_TIMEOUT,
  maxConnections: values.MAX_CONNECTIONS,
});
/** The client limits and the webhook's rate limit a Config has when their variables are unset (an app built without them: tests). */
export const DEFAULT_CLIENT_LIMITS = clientLimitsOf(DEFAULTS);
export const DEFAULT_WEBHOOK_RATE_LIMIT = DEFAULTS.SALESDRIVE_WEBHOOK_RATE_LIMIT;
export const DEFAULT_MAX_EVENT_LOOP_DELAY = DEFAULTS.MAX_EVENT_LOOP_DELAY;
/** How far back a reconciliation reads before the last mark when its push config does not say (an app built without it: tests). */
export const DEFAULT_RECONCILE_OVERLAP = DEFAULTS.SALESDRIVE_RECONCILE_OVERLAP;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // cast: TypeBox types each property exactly; here they are looked up by name, as JSON schemas
  const properties = EnvSchema.properties as Record<string, PropertySchema>;
  // empty variables count as unset, as in most shells' `VAR= command`
  const raw = Object.fromEntries(
    Object.keys(properties)
      .filter((k) => env[k]?.trim())
      .map((k) => [k, env[k]!.trim()]),
  );
  const problems = Object.entries(raw)
    .map(([name, value]) => checkVariable(name, value, properties[name]!))
    .filter((p): p is string => p !== undefined);
  // cast: Value.Default answers unknown; every variable given was checked above, and a bad one is in
  // `problems`, which stop the load before `values` is used for the Config
  const values = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw)) as Env;
  if (values.NODE_ENV === 'production' && !raw.DATABASE_URL) {
    problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded PGlite is for development)');
  }
  if (values.NODE_ENV === 'production' && !values.JWT_SECRET) {
    problems.push('JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  } else if (raw.DATABASE_URL && !values.JWT_SECRET) {
    // every process on one database must sign with the same secret (docs/decisions.md)
    problems.push('JWT_SECRET: required with DATABASE_URL (at least 32 characters, e.g. `openssl rand -base64 48`)');
  }
  if (values.METRICS_PORT === values.PORT && values.PORT !== 0) {
    problems.push(`METRICS_PORT: must differ from PORT (${values.PORT}): metrics are never served on the API port`);
  }
  if (values.SALESDRIVE_URL) {
    for (const name of ['SALESDRIVE_API_KEY', 'SALESDRIVE_FORM_KEY'] as const) {
      if (!values[name]) problems.push(`${name}: required with SALESDRIVE_URL (status changes are pushed to SalesDrive's API)`);
    }
  }
  if (values.DILOVOD_URL && !values.DILOVOD_API_KEY)
    problems.push("DILOVOD_API_KEY: required with DILOVOD_URL (the catalogue is read from Dilovod's API)");
  if (problems.length) throw new ConfigError(problems);
  return {
    nodeEnv: values.NODE_ENV,
    database: databaseTarget(env),
    host: values.HOST ?? (values.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    port: values.PORT,
    metricsPort: values.METRICS_PORT,
    logLevel: values.LOG_LEVEL,
    jwtSecret: values.JWT_SECRET,
    accessTokenTtl: values.ACCESS_TOKEN_TTL,
    refreshTokenTtl: values.REFRESH_TOKEN_TTL,
    refreshReuseGrace: values.REFRESH_REUSE_GRACE,
    loginRateLimit: values.LOGIN_RATE_LIMIT,
    loginRateLimitPerClient: values.LOGIN_RATE_LIMIT_PER_CLIENT,
    maxSessionsPerUser: values.MAX_SESSIONS_PER_USER,
    trustProxy: parseTrustProxy(values.TRUST_PROXY),
    statementTimeout: values.STATEMENT_TIMEOUT,
    clients: clientLimitsOf(values),
    docsUi: values.DOCS_UI === 'true',
    maxEventLoopDelay: values.MAX_EVENT_LOOP_DELAY,
    shutdownDelay: values.SHUTDOWN_DELAY,
    shutdownTimeout: values.SHUTDOWN_TIMEOUT,
    firstAdmin: { email: (values.ADMIN_EMAIL ?? 'admin@backoffice.local').toLowerCase(), password: values.ADMIN_PASSWORD },
    salesdrive: {
      webhookSecret: values.SALESDRIVE_WEBHOOK_SECRET,
      webhookRateLimit: values.SALESDRIVE_WEBHOOK_RATE_LIMIT,
      ...(values.SALESDRIVE_URL && values.SALESDRIVE_API_KEY && values.SALESDRIVE_FORM_KEY
        ? {
            push: {
              url: values.SALESDRIVE_URL.replace(/\/+$/, ''),
              apiKey: values.SALESDRIVE_API_KEY,
              formKey: values.SALESDRIVE_FORM_KEY,
              timeout: values.SALESDRIVE_TIMEOUT,
              retryDelay: values.SALESDRIVE_RETRY_DELAY,
              reconcileInterval: values.SALESDRIVE_RECONCILE_INTERVAL,
              reconcileOverlap: values.SALESDRIVE_RECONCILE_OVERLAP,
            },
          }
        : {}),
    },
    ...(values.DILOVOD_URL && values.DILOVOD_API_KEY
      ? {
          dilovod: {
            url: values.DILOVOD_URL,
            apiKey: values.DILOVOD_API_KEY,
            syncInterval: values.DILOVOD_SYNC_INTERVAL,
            timeout: values.DILOVOD_TIMEOUT,
            retries: values.DILOVOD_RETRIES,
            retryDelay: values.DILOVOD_RETRY_DELAY,
            maxChangeShare: values.DILOVOD_MAX_CHANGE_SHARE,
            setParentIds: values.DILOVOD_SET_PARENT_IDS.split(','),
            mainPriceType: values.DILOVOD_MAIN_PRICE_TYPE,
          },
        }
      : {}),
  };
}

function parseTrustProxy(value: string): boolean | string[] {
  return value === 'true' || value === 'false' ? value === 'true' : value.split(',');
}

/**
 * DATABASE_URL when set (with DIRECT_DATABASE_URL for the migrator, and the pool fit for PgBouncer
 * in transaction mode when DATABASE_TRANSACTION_POOLER=true); otherwise the embedded PGlite database in
 * PGLITE_DATA_DIR (default ./data).
 */
export function databaseTarget(env: NodeJS.ProcessEnv): DatabaseTarget {
  const url = env.DATABASE_URL?.trim();
  if (!url) return { dataDir: env.PGLITE_DATA_DIR?.trim() || './data' };
  const directUrl = env.DIRECT_DATABASE_URL?.trim();
  return {
    url,
    ...(directUrl ? { directUrl } : {}),
    ...(env.DATABASE_TRANSACTION_POOLER?.trim() === 'true' ? { transactionPooler: true } : {}),
  };
}
