import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
/**
 * What bench/api.ts and bench/api-profile.ts load: the migrated legacy database (1,000,000 orders unless told), bench
 * users, the two servers, and the requests of each endpoint.
 */
import { hashPassword } from '../../src/auth/passwords.js';
import { hashRefreshToken, newRefreshToken } from '../../src/auth/refresh-tokens.js';
import { openDatabase } from '../../src/db/client.js';
import { pendingMigrations, readChain } from '../../src/db/ledger.js';
import { ensureLegacy } from './legacy.js';
import type { HttpLoad } from './load.js';
import { runMigration } from './migrate.js';
import { copyDatabase, databaseExists, dropDatabase, renameDatabase, urlFor, withDatabase, type Sql } from './pg.js';
import { PROJECT_ROOT, startNode, type Server } from './processes.js';
import { count } from './results.js';

/** Named after its orders and the chain's last migration: sizes, and checkouts of different chains, keep their own. */
const databaseOf = (orders: number) => `bo_bench_api_${orders}_${readChain().at(-1)!.tag}`;
/** The orders of the legacy database the benchmark runs on: BENCH_ORDERS, or `useOrders` (bench/api.ts --orders); 1,000,000 by default. */
export let ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
export let DATABASE = databaseOf(ORDERS);
export function useOrders(orders: number) {
  if (!Number.isSafeInteger(orders) || orders < 1000) throw new Error(`orders: ${orders} is not a whole number of 1,000 or more`);
  ORDERS = orders;
  DATABASE = databaseOf(orders);
}
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret!';
export const WEBHOOK_SECRET = 'bench-webhook-secret-bench-webhook-secret';
const PASSWORD = 'bench-Passw0rd!';
/** Users whose refresh tokens the refresh load rotates. */
export const REFRESH_USERS = 1000;
/** The service's setting; the configuration accepts at most 10,000. */
export const LOGIN_RATE_LIMIT = 10_000;

/** The migrated copy of the legacy database, built once (CREATE DATABASE … TEMPLATE, npm run db:migrate) and kept. */
export async function ensureApiDatabase(say: (line: string) => void): Promise<void> {
  if (await databaseExists(DATABASE)) {
    const client = await openDatabase({ url: urlFor(DATABASE) }, { max: 1 });
    const pending = await pendingMigrations(client).finally(() => client.close());
    if (pending.length === 0) {
      // a run that stopped early, or a script that does not clean up, leaves them: found here, gone before any figure
      const left = await forgetWebhookOrders();
      return say(`reusing ${DATABASE}${left ? `, without ${count(left)} orders an earlier webhook load left` : ''}`);
    }
  }
  const legacy = await ensureLegacy(ORDERS, say);
  const building = `${DATABASE}_building`; // renamed once finished: an interrupted build is never reused
  await dropDatabase(building);
  await copyDatabase(legacy, building);
  say(`npm run db:migrate on ${building} …`);
  const migration = await runMigration(building);
  if (migration.exitCode !== 0) throw new Error(`npm run db:migrate exited ${migration.exitCode}:\n${migration.output}`);
  await withDatabase(building, (sql) => sql.unsafe('vacuum analyze'));
  await dropDatabase(DATABASE);
  await renameDatabase(building, DATABASE);
  say(`built ${DATABASE}`);
}

/**
 * Deletes the orders every webhook load made, this run's or an earlier one's (ids of 15 digits; the legacy orders'
 * have at most 7) and vacuums as autovacuum would have (0011's settings; this machine's PostgreSQL runs without
 * autovacuum): the bench database is kept for the next run, whose walks and searches must meet neither them nor
 * their dead entries. How many there were.
 */
export async function forgetWebhookOrders(): Promise<number> {
  return withDatabase(DATABASE, async (sql) => {
    const deleted = await sql`delete from orders where length(id) = 15`;
    if (deleted.count > 0) await sql`vacuum analyze orders`;
    return deleted.count;
  });
}

export interface Fixtures {
  loginEmails: string[];
  /** The argon2id hash the login users have (library defaults, as the service stores them). */
  argon2Hash: string;
  password: string;
  refreshTokens: string[];
  /** Two more sessions, for the one refresh whose answer each server's is compared with. */
  spareTokens: string[];
  orderIds: string[];
  /** The last five digits of TTNs, as a storekeeper reads them off labels (GET /orders?q=). */
  searchTerms: string[];
  deepCursor: string;
  deepPosition: number;
  status5: number;
}

/** Bench users (kept between runs, their password and session set anew) and the orders the requests name. */
export async function fixtures(loginUsers: number): Promise<Fixtures> {
  const argon2Hash = await hashPassword(PASSWORD);
  const loginEmails = Array.from({ length: loginUsers }, (_, i) => `bench-login-${i}@bench.invalid`);
  const refreshTokens = Array.from({ length: REFRESH_USERS + 2 }, newRefreshToken);
  return withDatabase(DATABASE, async (sql: Sql) => {
    // upserted, not deleted and inserted: deleting a user scans all of order_history (its user_id has no index)
    const upsert = sql`
      on conflict ((lower(email))) do update set role = excluded.role, password_hash = excluded.password_hash, is_active = true,
        sessions = excluded.sessions`;
    await sql`insert into users (email, role, password_hash) select unnest(${loginEmails}::text[]), 'admin', ${argon2Hash} ${upsert}`;
    // one session each, as a login would have stored it (src/auth/sessions.ts)
    const iso = (at: string) => sql`to_char((${sql.unsafe(at)}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    await sql`
      insert into users (email, role, password_hash, sessions)
      select 'bench-refresh-' || i || '@bench.invalid', 'user', ${argon2Hash},
             jsonb_build_array(jsonb_build_object('id', gen_random_uuid()::text, 'hash', hash, 'previousHash', null,
               'expiresAt', ${iso("now() + interval '30 days'")}, 'rotatedAt', null, 'createdAt', ${iso('now()')}, 'device', 'bench'))
        from unnest(${refreshTokens.map(hashRefreshToken)}::text[]) with ordinality as t(hash, i) ${upsert}`;
    await sql`vacuum analyze users`;

    const orderIds = (await sql<{ id: string }[]>`select id from orders tablesample bernoulli (0.1) repeatable (42)`).map((r) => r.id);
    const searchTerms = (
      await sql<
        { term: string }[]
      >`select right(ttn, 5) as term from orders where id = any(${orderIds}) and ttn <> '' order by id limit 100`
    ).map((r) => r.term);
    // 90 % of the way down the status-5 list, newest first: as deep as its keyset goes
    const [{ n: status5 }] = (await sql`select count(*)::int as n from orders where status = '5'`) as unknown as [{ n: number }];
    const deepPosition = Math.floor(status5 * 0.9);
    const [deep] = await sql<{ createdAt: Date; id: string }[]>`
      select created_at as "createdAt", id from orders where status = '5'
       order by created_at desc, id desc offset ${deepPosition - 1} limit 1`;
    const cursor = { s: 'createdAt', o: 'desc', v: deep!.createdAt.toISOString(), id: deep!.id };
    return {
      loginEmails,
      argon2Hash,
      password: PASSWORD,
      // one per answer compared: the service's and the baseline's, the baseline's and its Fastify twin's
      refreshTokens: refreshTokens.slice(4),
      spareTokens: refreshTokens.slice(0, 4),
      orderIds,
      searchTerms,
      deepCursor: Buffer.from(JSON.stringify(cursor)).toString('base64url'),
      deepPosition,
      status5,
    };
  });
}

const serverEnv = (extra: NodeJS.ProcessEnv) => ({
  ...process.env,
  DATABASE_URL: urlFor(DATABASE),
  JWT_SECRET,
  ACCESS_TOKEN_TTL: '3600',
  SALESDRIVE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  SALESDRIVE_WEBHOOK_RATE_LIMIT: '1000000',
  ...extra,
});

/**
 * The service as production starts it (`node dist/server.js`, NODE_ENV=production; `npm run build`
 * first), ready. `extra`: more environment (e.g. DATABASE_URL through PgBouncer).
 */
export async function startService(nodeArgs: string[] = [], extra: NodeJS.ProcessEnv = {}): Promise<Server> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const env = serverEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    LOGIN_RATE_LIMIT: String(LOGIN_RATE_LIMIT),
    LOGIN_RATE_LIMIT_PER_CLIENT: String(LOGIN_RATE_LIMIT),
    ...extra,
  });
  const server = await startNode('dist/server.js', env, nodeArgs);
  await server.ready();
  return server;
}

/**
 * bench/baseline-server.ts, ready; `prepare: false` sends its statements as drizzle does; `http: 'fastify'`
 * answers through bare Fastify instead of node:http (the framework's floor).
 */
export async function startBaseline(
  { prepare = true, http = 'node' }: { prepare?: boolean; http?: 'node' | 'fastify' } = {},
  nodeArgs: string[] = [],
  extra: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const env = serverEnv({ BASELINE_PREPARE: String(prepare), BASELINE_HTTP: http, ...extra });
  const server = await startNode('bench/baseline-server.ts', env, nodeArgs);
  await server.ready();
  return server;
}

const json = { 'content-type': 'application/json' };

/** An access token of the first login user, from the service. */
export async function accessToken(service: Server, f: Fixtures): Promise<string> {
  const response = await fetch(`${service.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: f.loginEmails[0], password: f.password }),
  });
  if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

export interface Endpoint {
  /** Short name, for command lines. */
  key: 'list' | 'deep' | 'read' | 'refresh' | 'webhook' | 'counts' | 'search' | 'view';
  name: string;
  load: Omit<HttpLoad, 'url'>;
  /** A request whose answers the two servers should agree on (GETs: byte for byte; refresh: the keys). */
  sample?: { path: string; init?: RequestInit; keysOnly?: boolean };
}

const newOrderDelivery = JSON.parse(readFileSync(new URL('../../test/fixtures/salesdrive/new-order.json', import.meta.url), 'utf8'));
/** Orders the webhook load creates get ids from here up: the seconds of this run, so that runs never meet. */
export const WEBHOOK_ORDER_IDS_FROM = Math.floor(Date.now() / 1000) * 100_000;
/**
 * A status change names the order created this many new orders before: committed long since, as
 * SalesDrive's changes of an order come minutes after it, not while its first delivery is stored.
 */
const STATUS_CHANGE_LAG = 100;
let [newOrders, statusChanges] = [0, 0];
/**
 * SalesDrive's deliveries, each new: new orders, and once there are STATUS_CHANGE_LAG of them, a status
 * change (new TTN, later updateAt) of the oldest order not yet changed after each.
 */
function nextDelivery(): string {
  const change = newOrders - statusChanges > STATUS_CHANGE_LAG;
  const n = change ? statusChanges++ : newOrders++;
  const payload = structuredClone(newOrderDelivery);
  payload.info.webhookEvent = change ? 'status_change' : 'new_order';
  payload.data.id = WEBHOOK_ORDER_IDS_FROM + n;
  payload.data.updateAt = change ? '2026-11-30 14:40:11' : '2026-11-30 11:15:02';
  if (change) {
    payload.data.statusId = 3;
    payload.data.ord_novaposhta.EN = `2045${String(n).padStart(10, '0')}`;
    payload.meta.fields.statusId.options = [{ value: 3, text: 'На відправку' }];
  }
  return JSON.stringify(payload);
}

/** The endpoints both servers answer. */
export function endpoints(f: Fixtures, token: string): Endpoint[] {
  const auth = { authorization: `Bearer ${token}` };
  const firstPage = '/api/v1/orders?limit=50&status=5';
  const deep = `${firstPage}&cursor=${f.deepCursor}`;
  let i = 0;
  const orderPath = () => `/api/v1/orders/${encodeURIComponent(f.orderIds[i++ % f.orderIds.length]!)}`;
  let v = 0;
  const viewPath = () => `/api/v1/orders/${encodeURIComponent(f.orderIds[v++ % f.orderIds.length]!)}?include=history`;
  let s = 0;
  const searchPath = () => `/api/v1/orders?q=${f.searchTerms[s++ % f.searchTerms.length]}`;
  // one queue of valid refresh tokens, shared by the servers: each presented once, its successor queued
  const tokens = [...f.refreshTokens];
  let failures = 0;
  return [
    {
      key: 'list',
      name: `GET ${firstPage}`,
      load: { path: firstPage, headers: auth },
      sample: { path: firstPage, init: { headers: auth } },
    },
    {
      key: 'deep',
      name: `… the same, cursor at row ${count(f.deepPosition)} of ${count(f.status5)}`,
      load: { path: deep, headers: auth },
      sample: { path: deep, init: { headers: auth } },
    },
    {
      key: 'read',
      name: `GET /api/v1/orders/:id (${count(f.orderIds.length)} ids in turn)`,
      load: { path: orderPath, headers: auth },
      sample: { path: `/api/v1/orders/${encodeURIComponent(f.orderIds[0]!)}`, init: { headers: auth } },
    },
    {
      key: 'counts',
      name: 'GET /api/v1/orders/counts',
      load: { path: '/api/v1/orders/counts', headers: auth },
      sample: { path: '/api/v1/orders/counts', init: { headers: auth } },
    },
    {
      key: 'search',
      name: `GET /api/v1/orders?q=<5 last digits of a TTN> (${count(f.searchTerms.length)} in turn)`,
      load: { path: searchPath, headers: auth },
      sample: { path: `/api/v1/orders?q=${f.searchTerms[0]}`, init: { headers: auth } },
    },
    {
      key: 'view',
      name: `GET /api/v1/orders/:id?include=history (${count(f.orderIds.length)} ids in turn)`,
      load: { path: viewPath, headers: auth },
      sample: { path: `/api/v1/orders/${encodeURIComponent(f.orderIds[0]!)}?include=history`, init: { headers: auth } },
    },
    {
      key: 'refresh',
      name: 'POST /api/v1/auth/refresh',
      load: {
        method: 'POST',
        path: '/api/v1/auth/refresh',
        headers: json,
        body: () => JSON.stringify({ refreshToken: tokens.shift() }),
        onResponse: (status, body) => {
          if (status === 200) tokens.push((JSON.parse(body) as { refreshToken: string }).refreshToken);
          else if (failures++ === 0) console.warn(`refresh answered ${status} (${tokens.length} tokens left): ${body}`);
        },
      },
      sample: { path: '/api/v1/auth/refresh', keysOnly: true, init: { method: 'POST', headers: json } },
    },
    {
      key: 'webhook',
      name: 'POST /api/v1/webhooks/salesdrive (new orders, and status changes of earlier ones, in turn)',
      load: { method: 'POST', path: `/api/v1/webhooks/salesdrive?token=${WEBHOOK_SECRET}`, headers: json, body: nextDelivery },
      // both answer an event that carries no order alike (a new order would be created by the first only)
      sample: {
        path: `/api/v1/webhooks/salesdrive?token=${WEBHOOK_SECRET}`,
        init: { method: 'POST', headers: json, body: '{"info":{"webhookEvent":"ping"}}' },
      },
    },
  ];
}

/** Logins of the login users in turn (only the service answers it). */
export function loginLoad(f: Fixtures): Omit<HttpLoad, 'url'> {
  let turn = 0;
  return {
    method: 'POST',
    path: '/api/v1/auth/login',
    headers: json,
    body: () => JSON.stringify({ email: f.loginEmails[turn++ % f.loginEmails.length], password: f.password }),
  };
}
