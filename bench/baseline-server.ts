/**
 * The floor that bench/api.ts measures the service against: a bare node:http server with a
 * postgres.js pool of the service's size (10), sending the service's SQL, character for character
 * (bench/api.ts checks it against what the service's connections ran), and answering the same JSON.
 * It does the work a client relies on, written as plainly as it can be: the access token checked as
 * the service checks it (signature, expiry, claims, the user's state read once per user), the ETag
 * of what it reads. Nothing else: no validation, no log line, no load shedding, no metrics, no hooks.
 * Until 2026-12-07 (evening) it checked no token and sent no ETag (bench/RESULTS.md has both runs).
 *
 *   DATABASE_URL=… JWT_SECRET=… PORT=… node --import tsx bench/baseline-server.ts
 *
 * Each statement goes as the service sends it: named, prepared once per connection, where the
 * service runs a statement prepared or built once (the list by status, counts, read, view, refresh,
 * the webhook's read, insert and update); unnamed and described first (parse, describe, then bind and
 * execute: two round trips) where it does not (the search). postgres.js's `unsafe` sends unnamed unless told
 * `prepare: true`: until 2026-12-07 this server sent every statement unnamed, and its direct
 * figures were those of unnamed statements. BASELINE_PREPARE=false sends them all unnamed, as
 * through a transaction pooler.
 *
 * BASELINE_HTTP=fastify answers with the same handlers through Fastify instead of node:http: one
 * catch-all route, no logger, no schema, no hook, the body left for the handler to read. It is the
 * floor of the framework the service is built on: what Fastify itself costs on each endpoint.
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import Fastify from 'fastify';
import postgres from 'postgres';
import { comparisonOf, containing } from '../src/schemas.js';
// the service's own mapping of a delivery to columns: the baseline does the same work, not less
import { race } from '../src/orders/search-race.js';
import { statusLabel } from '../src/orders/statuses.js';
import { externalIdOf, NEW_ORDER_EVENT, ORDER_EVENTS, readDelivery, type SalesDrivePayload } from '../src/salesdrive/payload.js';

const env = (name: string) =>
  process.env[name] ??
  (() => {
    throw new Error(`${name} is not set`);
  })();
const FASTIFY = process.env.BASELINE_HTTP === 'fastify';
const sql = postgres(env('DATABASE_URL'), {
  max: 10,
  connect_timeout: 5,
  prepare: process.env.BASELINE_PREPARE !== 'false',
  connection: { application_name: FASTIFY ? 'bench-baseline-fastify' : 'bench-baseline' },
  transform: { column: { from: postgres.toCamel } }, // result columns snake_case -> camelCase, as drizzle names them
});
/** What a statement the service prepares is sent with: named, unless the pool's `prepare` is off. */
const NAMED = { prepare: true };
const secret = env('JWT_SECRET');
const ACCESS_TOKEN_TTL = Number(process.env.ACCESS_TOKEN_TTL ?? 900);
const REFRESH_TOKEN_TTL = 30 * 24 * 3600;

// src/routes/orders.ts through crud.ts listPage and registerCrud, as drizzle renders them
const ORDER_COLUMNS =
  '"id", "external_id", "order_number", "ttn", "quantity", "status", "status_text", "items", "raw_data", "customer_name", "customer_phone", "delivery_address", "city_name", "payment_method", "shipping_method", "provider", "total_price", "order_date", "sync_status", "sync_error", "last_synced", "salesdrive_updated_at", "created_at", "updated_at"';
const listOrdersSql = (statuses: number, cursor: boolean) => {
  const $ = (i: number) => `$${i}`;
  const status = `"orders"."status" in (${Array.from({ length: statuses }, (_, i) => $(i + 1)).join(', ')})`;
  const where = cursor ? `(${status} and ("orders"."created_at", "orders"."id") < (${$(statuses + 1)}, ${$(statuses + 2)}))` : status;
  return `select ${ORDER_COLUMNS} from "orders" where ${where} order by "orders"."created_at" desc, "orders"."id" desc limit ${$(statuses + (cursor ? 3 : 1))}`;
};
const READ_ORDER = `select ${ORDER_COLUMNS} from "orders" where "orders"."id" = $1`;
// GET /orders/counts (the sums order_status_counts keeps) and GET /orders?q= (src/orders/search.ts: walks and look-ups
// tried in turn, with the plans they take, then the page)
const COUNTS =
  'select "status", sum("n") from "order_status_counts" group by "order_status_counts"."status" having sum("order_status_counts"."n") <> $1';
const SEARCH_TEXT = `("orders"."order_number" || chr(10) || "orders"."ttn" || chr(10) || coalesce("orders"."customer_name", '') || chr(10) || coalesce("orders"."customer_phone", ''))`;
// the ways src/orders/search.ts races (src/orders/search-race.ts): a walk of the list and a look-up of the matches
const SEARCH_PLANS = 'select set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true)';
const searchPlans = (on: boolean) => [
  'enable_seqscan',
  on ? 'on' : 'off',
  'enable_indexscan',
  on ? 'on' : 'off',
  'enable_bitmapscan',
  'on',
];
/** As src/orders/list.ts searchMatch compares q (src/schemas.ts comparisonOf). */
type Like = ReturnType<typeof comparisonOf>;
const searchWalk = (like: Like) =>
  `select id, hit, n from (select id, hit, (row_number() over ())::int as n from (select "orders"."id" as id, ${SEARCH_TEXT} ${like} $1 as hit from "orders" where true order by "orders"."created_at" desc, "orders"."id" desc limit $2) walked) numbered where hit or n = $3 limit $4`;
const searchLookUp = (like: Like) =>
  `with found as (select "orders"."id" as id, "orders"."created_at" as v from "orders" where ${SEARCH_TEXT} ${like} $1 limit $2) select case when (select count(*) from found) > $3 then null else array(select id from found order by v desc, id desc limit $4) end as ids, set_config($5, $6, true), set_config($7, $8, true), set_config($9, $10, true)`;
const searchPage = (like: Like) =>
  `select ${ORDER_COLUMNS} from "orders" where (${SEARCH_TEXT} ${like} $1 and "orders"."id" = ANY($2::text[])) order by "orders"."created_at" desc, "orders"."id" desc limit $3`;
const searchCommon = (like: Like) =>
  `select ${ORDER_COLUMNS} from "orders" where ${SEARCH_TEXT} ${like} $1 order by "orders"."created_at" desc, "orders"."id" desc limit $2`;
// GET /orders/:id?include=history, without filters: the order, its latest history as JSON, its previous and next order
const VIEW = `select ${ORDER_COLUMNS}, (select coalesce(json_agg(latest.entry order by latest.changed_at desc, latest.id desc), '[]'::json) from (select json_build_object('id', "order_history"."id", 'orderId', "order_history"."order_id", 'status', "order_history"."status", 'statusText', "order_history"."status_text", 'changedAt', "order_history"."changed_at", 'source', "order_history"."source", 'userId', "order_history"."user_id", 'notes', "order_history"."notes", 'userName', "users"."name") as entry, "order_history"."changed_at" as changed_at, "order_history"."id" as id from "order_history" left join "users" on "users"."id" = "order_history"."user_id" where "order_history"."order_id" = "viewed"."id" order by "order_history"."changed_at" desc, "order_history"."id" desc limit $1) latest), (select "id" from "orders" where ("orders"."created_at", "orders"."id") > ("viewed"."created_at", "viewed"."id") order by "orders"."created_at" asc, "orders"."id" asc limit 1), (select "id" from "orders" where ("orders"."created_at", "orders"."id") < ("viewed"."created_at", "viewed"."id") order by "orders"."created_at" desc, "orders"."id" desc limit 1) from "orders" "viewed" where "viewed"."id" = $2`;
const STATUSES = ['1', '2', '3', '4', '5', '6', '7', '8', '9']; // src/orders/statuses.ts STATUS_TEXT
// src/routes/auth.ts, POST /auth/refresh: the compare-and-swap on one session of users.sessions
const REFRESH = `update "users" set "last_activity_at" = date_trunc('milliseconds', now()), "sessions" = (SELECT jsonb_agg(CASE WHEN (e.s->>'hash') = $1::text THEN e.s || jsonb_build_object('hash', $2::text, 'previousHash', $3::text, 'rotatedAt', $4::text, 'expiresAt', $5::text) ELSE e.s END ORDER BY e.i) FROM jsonb_array_elements("users"."sessions") WITH ORDINALITY AS e(s, i)), "updated_at" = date_trunc('milliseconds', now()) where ("users"."sessions" @> jsonb_build_array(jsonb_build_object('hash', $6::text)) and EXISTS (SELECT 1 FROM jsonb_array_elements("users"."sessions") WITH ORDINALITY AS e(s, i) WHERE (e.s->>'hash') = $7::text AND (e.s->>'expiresAt')::timestamptz > now()) and "users"."is_active" = $8) returning "id", "email", "name", "role", "role_name", "is_active", "last_activity_at", "last_login_at", "created_at", "updated_at", "token_version", (SELECT e.s->>'id' FROM jsonb_array_elements("sessions") AS e(s) WHERE e.s->>'hash' = $9::text) as "session_id"`;

// src/routes/salesdrive-webhook.ts (src/salesdrive/deliveries.ts deliver), a delivery of SalesDrive's webhook, as drizzle
// renders it for the bench's deliveries: a new order (event new_order) with its first history entry in one statement;
// a status change in a transaction: its row locked and read, then changed with its history entry.
// The read, the insert and the update are built once per shape and named (src/db/statements.ts).
// A NULL is written into them, not sent (a placeholder's value goes through the column's encoder)
const HISTORY_OF_CHANGED =
  'insert into "order_history" ("order_id", "status", "status_text", "source", "notes") select changed.id, $%1, $%2, $%3, $%4 from changed returning 1';
const historyOfChanged = (from: number) => HISTORY_OF_CHANGED.replace(/\$%(\d)/g, (_, i: string) => `$${from + Number(i) - 1}`);
const WEBHOOK_CREATE = `with changed as (insert into "orders" ("id", "external_id", "order_number", "ttn", "quantity", "status", "status_text", "items", "raw_data", "customer_name", "customer_phone", "delivery_address", "city_name", "payment_method", "shipping_method", "provider", "total_price", "order_date", "sync_status", "sync_error", "last_synced", "salesdrive_updated_at", "created_at", "updated_at") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, null, $20, $21, default, default) on conflict do nothing returning "id") ${historyOfChanged(22)}`;
const WEBHOOK_READ =
  'select "status", "salesdrive_updated_at", "quantity", "items", "total_price", "sync_status", "raw_data" = $1::jsonb, (select max("changed_at") from "order_history" where ("order_history"."order_id" = "orders"."id" and "order_history"."source" = $2)) from "orders" where "orders"."id" = $3 for update';
const WEBHOOK_UPDATE = `with changed as (update "orders" set "ttn" = $1, "quantity" = $2, "status" = $3, "status_text" = $4, "items" = $5, "raw_data" = $6, "customer_name" = $7, "customer_phone" = $8, "delivery_address" = $9, "city_name" = $10, "payment_method" = $11, "shipping_method" = $12, "provider" = $13, "total_price" = $14, "order_date" = $15, "sync_status" = $16, "sync_error" = null, "last_synced" = $17, "salesdrive_updated_at" = $18, "updated_at" = $19 where "orders"."id" = $20 returning "id") ${historyOfChanged(21)}`;
const webhookSecret = hash('sha256', env('SALESDRIVE_WEBHOOK_SECRET'), 'buffer');

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const sha256 = (text: string) => hash('sha256', text, 'hex');
const JWT_HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
function accessToken(id: number, role: string, sid: string, ver: number) {
  const now = Math.floor(Date.now() / 1000);
  const payload = base64url(JSON.stringify({ sub: String(id), role, sid, ver, iat: now, exp: now + ACCESS_TOKEN_TTL }));
  return `${JWT_HEADER}.${payload}.${createHmac('sha256', secret).update(`${JWT_HEADER}.${payload}`).digest('base64url')}`;
}

// The access token, as src/plugins/auth.ts and src/plugins/revocation.ts check it: HS256 signature, expiry, the claims'
// shape, and the user's state (token version, role, active, sessions), read once per user with the service's statement
// and kept (the service keeps it until PostgreSQL says the user changed; the bench changes no user whose token it presents)
const USER_STATE = `select "token_version", "role", "is_active", jsonb_path_query_array("sessions", '$[*].id') from "users" where "users"."id" = $1`;
interface UserState {
  version: number;
  role: string;
  active: boolean;
  sessions: Set<string>;
}
const userStates = new Map<number, UserState | null>();
const readingStates = new Map<number, Promise<void>>();
function claimsOf(authorization: string | undefined) {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const [header, payload, signature, extra] = authorization.slice('Bearer '.length).split('.');
  if (!header || !payload || !signature || extra !== undefined) return undefined;
  const given = Buffer.from(signature, 'base64url');
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if ((JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg !== 'HS256') return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const { sub, role, sid, ver, exp } = claims;
  if (typeof exp !== 'number' || exp * 1000 <= Date.now()) return undefined;
  if (typeof sub !== 'string' || !/^[0-9]{1,10}$/.test(sub) || typeof role !== 'string' || typeof sid !== 'string') return undefined;
  if (!Number.isInteger(ver)) return undefined;
  return { id: Number(sub), role, sid, ver: ver as number };
}
async function authorized(request: IncomingMessage) {
  const claims = claimsOf(request.headers.authorization);
  if (!claims) return false;
  if (!userStates.has(claims.id)) {
    let reading = readingStates.get(claims.id);
    if (!reading) {
      reading = sql
        .unsafe(USER_STATE, [claims.id], NAMED)
        .values()
        .then(([row]) => {
          const [version, role, active, sessions] = (row ?? []) as [number, string, boolean, string[]];
          userStates.set(claims.id, row ? { version, role, active, sessions: new Set(sessions) } : null);
        })
        .finally(() => readingStates.delete(claims.id));
      readingStates.set(claims.id, reading);
    }
    await reading;
  }
  const state = userStates.get(claims.id);
  return !!state && state.active && state.version === claims.ver && state.role === claims.role && state.sessions.has(claims.sid);
}

/** An ETag as the service writes it (src/routes/crud.ts): of the row's JSON. */
const tagOf = (json: string) => `"${hash('sha256', json, 'base64url').slice(0, 27)}"`;

type Row = Record<string, unknown>;

async function listOrders(query: URLSearchParams) {
  const statuses = query.getAll('status');
  const limit = Number(query.get('limit') ?? 50);
  const cursorText = query.get('cursor');
  const cursor = cursorText ? (JSON.parse(Buffer.from(cursorText, 'base64url').toString('utf8')) as { v: string; id: string }) : undefined;
  const params = [...statuses, ...(cursor ? [cursor.v, cursor.id] : []), limit + 1];
  const rows = await sql.unsafe<Row[]>(listOrdersSql(statuses.length, cursor !== undefined), params, NAMED);
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const nextCursor =
    rows.length > limit && last
      ? base64url(JSON.stringify({ s: 'createdAt', o: 'desc', v: (last.createdAt as Date).toISOString(), id: last.id }))
      : null;
  return { items, nextCursor };
}

async function counts() {
  const rows = await sql.unsafe<{ status: string; sum: string }[]>(COUNTS, [0], NAMED);
  const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const row of rows) byStatus[row.status] = Number(row.sum);
  return { total: rows.reduce((sum, row) => sum + Number(row.sum), 0), byStatus };
}

async function search(query: URLSearchParams) {
  const q = query.get('q')!;
  const like = comparisonOf(q);
  const pattern = containing(q);
  const rows = await sql.begin(async (tx) => {
    const page = async (ids: string[]) => {
      const found = await tx.unsafe<Row[]>(searchPage(like), [pattern, ids, 51]);
      return found.length < ids.length ? tx.unsafe<Row[]>(searchCommon(like), [pattern, 51]) : found;
    };
    const walk = async (bound: number) => {
      const rows = await tx.unsafe<{ id: string; hit: boolean; n: number }[]>(searchWalk(like), [pattern, bound, bound, 52]);
      const ids = rows.filter((row) => row.hit).map((row) => row.id);
      return ids.length >= 51 || !rows.some((row) => row.n === bound) ? ids.slice(0, 51) : undefined;
    };
    const lookUp = async (bound: number) => {
      await tx.unsafe(SEARCH_PLANS, searchPlans(false));
      const [looked] = await tx.unsafe<{ ids: string[] | null }[]>(searchLookUp(like), [
        pattern,
        bound + 1,
        bound,
        51,
        ...searchPlans(true),
      ]);
      return looked!.ids ?? undefined;
    };
    return page(await race([walk, lookUp]));
  });
  const items = rows.slice(0, 50);
  const last = items.at(-1);
  const nextCursor =
    rows.length > 50 && last
      ? base64url(JSON.stringify({ s: 'createdAt', o: 'desc', v: (last.createdAt as Date).toISOString(), id: last.id }))
      : null;
  return { items, nextCursor };
}

async function view(id: string) {
  // the last three columns are unnamed: read by position
  const result = await sql.unsafe(VIEW, [20, id], NAMED).values();
  const values = result[0] as unknown[] | undefined;
  if (!values) return undefined;
  const row = result.columns.slice(0, -3).reduce<Row>((order, column, i) => ((order[column.name] = values[i]), order), {});
  const [history, previousId, nextId] = values.slice(-3) as [{ changedAt: string }[], string | null, string | null];
  const entries = history.map((entry) => ({ ...entry, changedAt: new Date(entry.changedAt).toISOString() }));
  const own = JSON.stringify(row);
  const body = `${own.slice(0, -1)},"history":${JSON.stringify(entries)},"previousId":${JSON.stringify(previousId)},"nextId":${JSON.stringify(nextId)}}`;
  return { body, etag: tagOf(own) };
}

async function refresh(request: IncomingMessage) {
  let text = '';
  for await (const chunk of request) text += chunk;
  const presented = sha256((JSON.parse(text) as { refreshToken: string }).refreshToken);
  const refreshToken = randomBytes(32).toString('base64url');
  const next = sha256(refreshToken);
  const now = new Date();
  const expiresAt = new Date(now.getTime() + REFRESH_TOKEN_TTL * 1000).toISOString();
  const [row] = await sql.unsafe<Row[]>(
    REFRESH,
    [presented, next, presented, now.toISOString(), expiresAt, presented, presented, true, next],
    NAMED,
  );
  if (!row) return undefined;
  const { tokenVersion, sessionId, ...user } = row;
  const token = accessToken(user.id as number, user.role as string, sessionId as string, tokenVersion as number);
  return { accessToken: token, refreshToken, tokenType: 'Bearer', expiresIn: ACCESS_TOKEN_TTL, user };
}

/** The same work as the service's webhook: the secret, the payload's fields, one transaction; nothing else. */
async function webhook(request: IncomingMessage, token: string | null) {
  if (!timingSafeEqual(hash('sha256', token ?? '', 'buffer'), webhookSecret)) return undefined;
  let text = '';
  for await (const chunk of request) text += chunk;
  const payload = JSON.parse(text) as SalesDrivePayload;
  if (!payload.data || !ORDER_EVENTS.has(payload.info?.webhookEvent ?? '')) return { result: 'ignored', orderId: null, statusKept: false };
  const data = payload.data;
  const { id, fields: f, updateAt: given } = readDelivery({ ...payload, data });
  const updateAt = given ?? null;
  const received = [
    payload,
    f.customerName,
    f.customerPhone,
    f.deliveryAddress,
    f.cityName,
    f.paymentMethod,
    f.shippingMethod,
    f.provider,
    f.totalPrice,
    f.orderDate,
  ];
  const status = f.status ?? '1';
  const statusText = statusLabel(status, f.statusText);
  const externalId = externalIdOf(data);
  const created = { result: 'created', orderId: id, statusKept: false };
  // the order and its first history entry; nothing when it exists (or another's insert of it is under way)
  const create = async (q: postgres.Sql | postgres.TransactionSql) => {
    const rows = await q.unsafe(
      WEBHOOK_CREATE,
      [
        id,
        externalId,
        externalId,
        f.ttn ?? '',
        f.quantity,
        status,
        statusText,
        f.items,
        ...received,
        'success',
        new Date(),
        updateAt,
        status,
        statusText,
        'webhook',
        'new order from SalesDrive',
      ] as never[],
      NAMED,
    );
    return rows.length > 0;
  };
  if (payload.info?.webhookEvent === NEW_ORDER_EVENT && (await create(sql))) return created;
  return sql.begin(async (tx) => {
    // two unnamed columns: read by position
    const read = async () => (await tx.unsafe(WEBHOOK_READ, [payload, 'manual', id] as never[], NAMED).values())[0]; // jsonb parameters as JSON
    let before = await read();
    // a status change that came before its order's insert was committed: the insert, which waits for that one
    if (!before && (await create(tx))) return created;
    before ??= await read();
    if (!before) throw new Error('the bench load changes the status of orders it created');
    const [storedStatus, storedUpdateAt, , , , , same, manualAt] = before as [string, Date | null, ...unknown[], boolean, Date | null];
    if (same) return { result: 'unchanged', orderId: id, statusKept: false };
    if (updateAt && storedUpdateAt && updateAt < storedUpdateAt) return { result: 'stale', orderId: id, statusKept: false };
    if (f.status !== storedStatus && manualAt && (!updateAt || updateAt < manualAt))
      throw new Error('the bench load makes no status change of its own');
    await tx.unsafe(
      WEBHOOK_UPDATE,
      [
        f.ttn,
        f.quantity,
        f.status,
        statusLabel(f.status!, f.statusText),
        f.items,
        ...received,
        'success',
        new Date(),
        updateAt ?? storedUpdateAt,
        new Date(),
        id,
        f.status,
        statusLabel(f.status!, f.statusText),
        'webhook',
        null,
      ] as never[],
      NAMED,
    );
    return { result: 'updated', orderId: id, statusKept: false };
  });
}

const NOT_FOUND = { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'Order not found' };
const UNAUTHORIZED = { statusCode: 401, code: 'UNAUTHORIZED', error: 'Unauthorized', message: 'A valid access token is required' };

/** The status, and the body: JSON as a text (and the ETag it has), or a value to write as JSON. */
type Answer = [number, unknown] | [number, { body: string; etag: string }, 'json'];

async function route(request: IncomingMessage): Promise<Answer> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method === 'GET' && url.pathname === '/readyz') return [200, { status: 'ok' }];
  if (request.method === 'GET' && url.pathname.startsWith('/api/v1/orders') && !(await authorized(request))) return [401, UNAUTHORIZED];
  if (request.method === 'GET' && url.pathname === '/api/v1/orders' && url.searchParams.has('q'))
    return [200, await search(url.searchParams)];
  if (request.method === 'GET' && url.pathname === '/api/v1/orders') return [200, await listOrders(url.searchParams)];
  if (request.method === 'GET' && url.pathname === '/api/v1/orders/counts') return [200, await counts()];
  if (request.method === 'GET' && url.pathname.startsWith('/api/v1/orders/') && url.searchParams.get('include') === 'history') {
    const order = await view(decodeURIComponent(url.pathname.slice('/api/v1/orders/'.length)));
    return order ? [200, order, 'json'] : [404, NOT_FOUND];
  }
  if (request.method === 'GET' && url.pathname.startsWith('/api/v1/orders/')) {
    const [order] = await sql.unsafe<Row[]>(READ_ORDER, [decodeURIComponent(url.pathname.slice('/api/v1/orders/'.length))], NAMED);
    if (!order) return [404, NOT_FOUND];
    const body = JSON.stringify(order);
    return [200, { body, etag: tagOf(body) }, 'json'];
  }
  if (request.method === 'POST' && url.pathname === '/api/v1/webhooks/salesdrive') {
    const outcome = await webhook(request, url.searchParams.get('token'));
    return outcome
      ? [200, outcome]
      : [401, { statusCode: 401, code: 'WEBHOOK_UNAUTHORIZED', error: 'Unauthorized', message: 'A valid webhook secret is required' }];
  }
  if (request.method === 'POST' && url.pathname === '/api/v1/auth/refresh') {
    const tokens = await refresh(request);
    const message = 'The refresh token is invalid, expired or already used';
    return tokens ? [200, tokens] : [401, { statusCode: 401, code: 'INVALID_REFRESH_TOKEN', error: 'Unauthorized', message }];
  }
  return [404, { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'no such route' }];
}

const HEADERS = { 'content-type': 'application/json; charset=utf-8' };
/** The answer's headers and text. */
function written([status, body, asText]: Answer): [number, Record<string, string>, string] {
  if (!asText) return [status, HEADERS, JSON.stringify(body)];
  const { body: text, etag } = body as { body: string; etag: string };
  return [status, { ...HEADERS, etag }, text];
}

const failed = (error: unknown): Answer => {
  console.error(error);
  return [500, { statusCode: 500, code: 'INTERNAL_ERROR', error: 'Internal Server Error', message: String(error) }];
};
const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';

if (FASTIFY) {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _body, done) => done(null)); // read by the handler, as node:http's is
  app.all('/*', async (request, reply) => {
    const [status, headers, text] = written(await route(request.raw).catch(failed));
    return reply.code(status).headers(headers).send(text);
  });
  await app.listen({ port, host });
  console.log('baseline listening');
  process.on('SIGTERM', () => void app.close().then(() => sql.end({ timeout: 5 })));
} else {
  const server = createServer((request, response) => {
    void route(request)
      .catch(failed)
      .then((answer: Answer) => {
        const [status, headers, text] = written(answer);
        response.writeHead(status, headers).end(text);
      });
  });
  server.listen(port, host, () => console.log('baseline listening'));
  process.on('SIGTERM', () => server.close(() => void sql.end({ timeout: 5 })));
}
