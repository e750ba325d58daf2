/**
 * The API under load: `npx tsx bench/api.ts [--orders 1000000] [--seconds 10] [--warmup 2] [--rounds 2] [--connections 10]
 * [--endpoints list,deep,read,counts,search,view,refresh,webhook,login]`.
 *
 * The service as production runs it (`node dist/server.js`, NODE_ENV=production) and
 * the floor (bench/baseline-server.ts: node:http, a postgres.js pool of the same size, the same
 * SQL, the same JSON), each its own process, on a migrated copy of the legacy database with
 * `orders` orders (kept as bo_bench_api_<orders>_<last migration>). Each endpoint is loaded by autocannon from this process
 * at a fixed number of connections, service and baseline alternated (ABBA over `rounds`), `seconds`
 * per side in all. Login is measured against argon2id verification alone, in this process. RSS of
 * both servers: after start, idle after the warm-up, and the peak sampled every 100 ms under load.
 * Beside each figure, how busy the machine was with other work (bench/lib/machine-load.ts).
 * Writes the "api-<orders>" section of bench/RESULTS.md and bench/api-<orders>.json, then the
 * "api" section (every size measured, side by side) and bench/api-scale-p50.svg, -p99.svg from those files
 * (bench/lib/api-scale.ts).
 */
import { verify as argon2Verify } from '@node-rs/argon2';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  accessToken,
  DATABASE,
  endpoints,
  ensureApiDatabase,
  fixtures,
  forgetWebhookOrders,
  LOGIN_RATE_LIMIT,
  loginLoad,
  ORDERS,
  REFRESH_USERS,
  startBaseline,
  startService,
  type Endpoint,
  type Fixtures,
  useOrders,
} from './lib/api-setup.js';
import { FLOOR, writeScale, type SizeRun } from './lib/api-scale.js';
import { LOADED_CORES, watchLoad } from './lib/machine-load.js';
import { closedLoop, figures, httpLoad, type Figures, type HttpLoad, type Run } from './lib/load.js';
import { withDatabase, type Sql } from './lib/pg.js';
import { cpuSeconds, rss, watchPeakRss, type Server } from './lib/processes.js';
import { bytes, count, machine, seconds, writeSection } from './lib/results.js';
import { startPgBouncer } from '../test/helpers/pgbouncer.js';
import { urlFor } from './lib/pg.js';

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    orders: { type: 'string', default: process.env.BENCH_ORDERS ?? '1000000' },
    endpoints: { type: 'string', default: 'list,deep,read,counts,search,view,refresh,webhook,login' },
  },
});
useOrders(Number(options.orders));
const WANTED = new Set(options.endpoints.split(','));
const [SECONDS, WARMUP, ROUNDS, CONNECTIONS] = [options.seconds, options.warmup, options.rounds, options.connections].map(Number) as [
  number,
  number,
  number,
  number,
];
const COMMAND = ['npx tsx bench/api.ts', ...process.argv.slice(2)].join(' ');
const say = (line: string) => console.log(`[api] ${line}`);

type Side = (seconds: number) => Promise<Run>;

/** Runs each side for `seconds` in all, in `rounds` turns, the order reversed every other turn (ABBA). */
async function interleaved(sides: Side[], seconds: number): Promise<Figures[]> {
  const runs = sides.map((): Run[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    const order = sides.map((_, i) => (round % 2 === 0 ? i : sides.length - 1 - i));
    for (const i of order) runs[i]!.push(await sides[i]!(seconds / ROUNDS));
  }
  return runs.map(figures);
}

/** The processes a measurement runs on (this one, the servers, PgBouncer, the database's backends); set per pass. */
let ownPids: number[] = [process.pid];
const ours = async () => {
  const backends = await withDatabase(
    'postgres',
    (sql) => sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${DATABASE}`,
  );
  return [...ownPids, ...backends.map((b) => b.pid)];
};
/** `run`, and how busy the machine was meanwhile with other work. */
async function watched(run: () => Promise<Run>): Promise<Run> {
  const watch = await watchLoad(ours);
  const result = await run();
  return { ...result, load: await watch.stop() };
}

/** The load on one server, and the CPU time the server used meanwhile. */
const sideOf =
  (server: Server, load: Omit<HttpLoad, 'url'>): Side =>
  (seconds) =>
    watched(async () => {
      const cpu = cpuSeconds(server.pid);
      const run = await httpLoad({ ...load, url: server.url }, CONNECTIONS, seconds);
      return { ...run, cpuSeconds: cpuSeconds(server.pid) - cpu };
    });

/**
 * The statements a server's connections run while `load` runs: pg_stat_activity keeps each
 * connection's last one, sampled every few milliseconds (every statement of an endpoint that runs
 * several is seen), but the service's rate-limit counts (the webhook's, written in batches), which
 * the baseline has not, the `SET application_name` PgBouncer sends ahead of a client's first statement,
 * and the array types postgres.js reads on each connection it opens (the pool may open one late: at 3M
 * orders the list's warm-up saw the service's, 2026-12-08).
 */
async function statementsDuring(sql: Sql, application: string, load: () => Promise<unknown>): Promise<string[]> {
  const seen = new Set<string>();
  // what an earlier load left running finishes first (autocannon stops at its duration without waiting for the
  // requests in flight; a slow search's transaction was seen in the next endpoint's window)
  const busy = async () =>
    (
      (await sql`select count(*)::int as n from pg_stat_activity
                 where datname = ${DATABASE} and application_name = ${application} and state <> 'idle'`) as unknown as [{ n: number }]
    )[0].n > 0;
  for (let waited = 0; waited < 30_000 && (await busy()); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  // an idle connection shows the last statement it ran, perhaps for the endpoint before: only those begun since
  const [{ since }] = (await sql`select clock_timestamp() as since`) as unknown as [{ since: Date }];
  let running = true;
  const sampling = (async () => {
    while (running) {
      const rows = await sql<{ query: string }[]>`
        select distinct query from pg_stat_activity
         where datname = ${DATABASE} and application_name = ${application} and query <> '' and query_start >= ${since}
           and query not like 'insert into "rate_limits"%' and query not like 'SET application_name=%'
           and query not like '%from pg_catalog.pg_type a%typcategory = ''A''%'`;
      for (const { query } of rows) seen.add(query);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  await load().finally(() => (running = false));
  await sampling;
  return [...seen].sort();
}

/** Same body from both servers? (The refresh sample spends a spare token on each.) */
async function sameBody(service: Server, baseline: Server, endpoint: Endpoint, f: Fixtures): Promise<boolean> {
  const { path, init, keysOnly } = endpoint.sample!;
  const get = async (server: Server) => {
    const body = keysOnly ? JSON.stringify({ refreshToken: f.spareTokens.pop() }) : init?.body;
    const response = await fetch(server.url + path, { ...init, body });
    if (response.status !== 200) throw new Error(`${endpoint.name}: ${server.url} answered ${response.status}: ${await response.text()}`);
    const text = await response.text();
    return keysOnly ? JSON.stringify(Object.keys(JSON.parse(text) as object)) : text;
  };
  return (await get(service)) === (await get(baseline));
}

const idleRss = async (pid: number) => {
  const samples: number[] = [];
  for (let i = 0; i < 10; i++, await new Promise((resolve) => setTimeout(resolve, 100))) samples.push(rss(pid));
  return samples.sort((a, b) => a - b)[5]!;
};

/** What the warm-up found of an endpoint: the same SQL and body as the service's, from the baseline and from its Fastify twin. */
interface Checks {
  sameSql: boolean;
  sameBody: boolean;
  floor?: { sameSql: boolean; sameBody: boolean };
}

/**
 * Each endpoint on each server for the warm-up's time; then whether they ran the same SQL (as they ran it) and
 * answered the same: the baseline as the service, and the floor (its twin on Fastify), if any, as the baseline.
 */
async function warmUp(list: Endpoint[], service: Server, baseline: Server, f: Fixtures, floor?: Server): Promise<Checks[]> {
  say(`warm-up, ${WARMUP} s per endpoint and server; same SQL and body?`);
  const servers: [Server, string][] = [
    [service, 'backoffice-api'],
    [baseline, 'bench-baseline'],
    ...(floor ? [[floor, 'bench-baseline-fastify'] as [Server, string]] : []),
  ];
  // the pools' connections opened (each asks for the array types) and the token's user read (then cached) before any is sampled
  for (const [server] of servers) await httpLoad({ ...list[0]!.load, url: server.url }, CONNECTIONS, 1);
  return withDatabase('postgres', async (sql) => {
    const result: Checks[] = [];
    for (const endpoint of list) {
      const ran: string[][] = [];
      for (const [server, application] of servers) {
        ran.push(await statementsDuring(sql, application, () => httpLoad({ ...endpoint.load, url: server.url }, CONNECTIONS, WARMUP)));
      }
      statements[endpoint.name] ??= ran[0]!;
      const [own, theirs, floors] = ran as [string[], string[], string[] | undefined];
      const sameSql = own.join('\n') === theirs.join('\n');
      // said, so that a "no" in the table can be looked into
      if (!sameSql)
        say(
          `${endpoint.name}: not the same SQL. Only the service ran:\n${own.filter((q) => !theirs.includes(q)).join('\n')}\n` +
            `Only the baseline ran:\n${theirs.filter((q) => !own.includes(q)).join('\n')}`,
        );
      result.push({
        sameSql,
        sameBody: await sameBody(service, baseline, endpoint, f),
        ...(floor && floors
          ? { floor: { sameSql: floors.join('\n') === theirs.join('\n'), sameBody: await sameBody(baseline, floor, endpoint, f) } }
          : {}),
      });
    }
    return result;
  });
}

interface Comparison {
  key: Endpoint['key'] | 'login';
  viaBouncer: boolean;
  endpoint: string;
  service: Figures;
  /** What the service is compared with: its name, figures, and whether it ran the same SQL and answered the same. */
  against: { name: string; figures: Figures; sameSql?: boolean; sameBody?: boolean }[];
}

// ---------------------------------------------------------------------------------------------

await ensureApiDatabase(say);
const f = await fixtures(CONNECTIONS);
say('starting the service and the baseline …');
const service = await startService();
const baseline = await startBaseline();
const floor = await startBaseline({ http: 'fastify' });
ownPids = [process.pid, service.pid, baseline.pid, floor.pid];
const comparisons: Comparison[] = [];
/** `peak`: over the endpoints both servers answer; `loginPeak`: the service's during the logins (the baseline has none). */
const memory: Record<string, { server: Server; started?: number; idle?: number; peak?: number; loginPeak?: number }> = {
  service: { server: service },
  baseline: { server: baseline },
  'baseline on Fastify': { server: floor },
};
const statements: Record<string, string[]> = {};
try {
  for (const m of Object.values(memory)) m.started = await idleRss(m.server.pid);
  const list = endpoints(f, await accessToken(service, f)).filter((e) => WANTED.has(e.key));

  const checks = await warmUp(list, service, baseline, f, floor);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  for (const m of Object.values(memory)) m.idle = await idleRss(m.server.pid);

  const peaks = watchPeakRss([service.pid, baseline.pid, floor.pid]);
  for (const [i, endpoint] of list.entries()) {
    say(`${endpoint.name}: ${SECONDS} s per server …`);
    const [s, b, onFastify] = await interleaved(
      [sideOf(service, endpoint.load), sideOf(baseline, endpoint.load), sideOf(floor, endpoint.load)],
      SECONDS,
    );
    const { floor: floorChecks, ...baselineChecks } = checks[i]!;
    comparisons.push({
      key: endpoint.key,
      viaBouncer: false,
      endpoint: endpoint.name,
      service: s!,
      against: [
        { name: 'baseline server', figures: b!, ...baselineChecks },
        { name: FLOOR, figures: onFastify!, ...floorChecks },
      ],
    });
  }
  const peak = peaks.stop();
  for (const m of Object.values(memory)) m.peak = peak.get(m.server.pid);
  if (WANTED.has('login')) {
    // argon2id takes 19 MiB per verify, several at once on libuv's threads: the service's alone, kept apart
    const loginPeaks = watchPeakRss([service.pid]);
    say(`POST /api/v1/auth/login against argon2id verify: ${SECONDS} s each …`);
    const login = loginLoad(f);
    await httpLoad({ ...login, url: service.url }, CONNECTIONS, WARMUP);
    const verify = () => argon2Verify(f.argon2Hash, f.password);
    const [s, concurrent, single] = await interleaved(
      [
        sideOf(service, login),
        (seconds) => watched(() => closedLoop(verify, CONNECTIONS, seconds)),
        (seconds) => watched(() => closedLoop(verify, 1, seconds)),
      ],
      SECONDS,
    );
    memory.service!.loginPeak = loginPeaks.stop().get(service.pid);
    comparisons.push({
      key: 'login',
      viaBouncer: false,
      endpoint: 'POST /api/v1/auth/login',
      service: s!,
      against: [
        { name: `argon2id verify, ${CONNECTIONS} at once`, figures: concurrent! },
        { name: 'argon2id verify, one at a time', figures: single! },
      ],
    });
  }
} catch (error) {
  console.error(`service output:\n${service.output()}\nbaseline output:\n${baseline.output()}\nits Fastify twin:\n${floor.output()}`);
  throw error;
} finally {
  await Promise.all([service.stop(), baseline.stop(), floor.stop()]);
}

// The same endpoints through PgBouncer in transaction mode (a pool of 10 server connections, the
// service's pool size): the service with DATABASE_TRANSACTION_POOLER=true, the baseline with
// prepare: false, each against the other.
say('through PgBouncer (transaction mode) …');
const bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 10 });
const viaBouncer = { DATABASE_URL: bouncer.urlFor(DATABASE), DIRECT_DATABASE_URL: urlFor(DATABASE) };
const pooledService = await startService([], { ...viaBouncer, DATABASE_TRANSACTION_POOLER: 'true' });
const pooledBaseline = await startBaseline({ prepare: false }, [], viaBouncer);
ownPids = [process.pid, pooledService.pid, pooledBaseline.pid, bouncer.pid];
try {
  const fresh = await fixtures(CONNECTIONS); // new sessions: the first pass rotated every refresh token
  const list = endpoints(fresh, await accessToken(pooledService, fresh)).filter((e) => WANTED.has(e.key));
  const checks = await warmUp(list, pooledService, pooledBaseline, fresh);
  for (const [i, endpoint] of list.entries()) {
    say(`${endpoint.name} via PgBouncer: ${SECONDS} s per server …`);
    const [s, b] = await interleaved([sideOf(pooledService, endpoint.load), sideOf(pooledBaseline, endpoint.load)], SECONDS);
    comparisons.push({
      key: endpoint.key,
      viaBouncer: true,
      endpoint: `${endpoint.name}, via PgBouncer`,
      service: s!,
      // the SQL is the servers' own, through PgBouncer as directly (whose connections it does not name): as the direct pass found it
      against: [
        {
          name: 'baseline server, via PgBouncer',
          figures: b!,
          sameSql: comparisons.find((c) => c.key === endpoint.key && !c.viaBouncer)?.against[0]!.sameSql,
          sameBody: checks[i]!.sameBody,
        },
      ],
    });
  }
} catch (error) {
  console.error(
    `service output:\n${pooledService.output()}\nbaseline output:\n${pooledBaseline.output()}\npgbouncer:\n${bouncer.output()}`,
  );
  throw error;
} finally {
  await Promise.all([pooledService.stop(), pooledBaseline.stop()]);
  await forgetWebhookOrders();
  await bouncer.stop();
}

// ---------------------------------------------------------------------------------------------

const ms = (x: number | undefined) => (x === undefined ? '' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const checked = (x: boolean | undefined) => (x === undefined ? '' : x ? 'yes' : '**no**');
const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
const loaded = (x: Figures) => (x.load?.others ?? 0) > LOADED_CORES;
const loadCell = (x: Figures) =>
  x.load ? `${x.load.average.toFixed(2)} / ${x.load.others.toFixed(2)}${loaded(x) ? ' **loaded**' : ''}` : '';
const figureCells = (x: Figures) => [
  count(Math.round(x.rps)),
  ms(x.p50),
  ms(x.p99),
  count(x.non2xx + x.errors),
  ms(x.cpuPerRequest),
  loadCell(x),
];
const table = [
  '| endpoint | server | req/s | p50 ms | p99 ms | non-2xx | CPU ms/req | load | ratio | same SQL | same body |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: |',
  ...comparisons.flatMap(({ endpoint, service: s, against }) => [
    line([`\`${endpoint}\``, 'service', ...figureCells(s), '', '', '']),
    ...against.map((a) =>
      line([
        '',
        a.name,
        ...figureCells(a.figures),
        `**${(s.okRps / a.figures.okRps).toFixed(2)}**`,
        checked(a.sameSql),
        checked(a.sameBody),
      ]),
    ),
  ]),
];
const memoryTable = [
  '| process | start to ready | RSS after start | RSS idle, after the warm-up | peak RSS under load | peak RSS, logins |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...Object.entries(memory).map(
    ([name, m]) =>
      `| ${name} | ${seconds(m.server.readySeconds!)} | ${bytes(m.started!)} | ${bytes(m.idle!)} | ${bytes(m.peak!)} | ${m.loginPeak ? bytes(m.loginPeak) : ''} |`,
  ),
];
const anyLoaded = comparisons.some((c) => [c.service, ...c.against.map((a) => a.figures)].some(loaded));
const sizeRun: SizeRun = {
  orders: ORDERS,
  date: new Date().toISOString(),
  command: COMMAND,
  loaded: anyLoaded,
  endpoints: comparisons.map((c) => ({
    key: c.key,
    viaBouncer: c.viaBouncer,
    name: c.endpoint,
    service: c.service,
    against: c.against.map((a) => ({ name: a.name, figures: a.figures, sameSql: a.sameSql, sameBody: a.sameBody })),
  })),
  memory: Object.fromEntries(
    Object.entries(memory).map(([name, m]) => [name, { idle: m.idle!, peak: m.peak!, ...(m.loginPeak ? { loginPeak: m.loginPeak } : {}) }]),
  ),
};
writeFileSync(new URL(`./api-${ORDERS}.json`, import.meta.url), `${JSON.stringify(sizeRun, null, 1)}\n`);
const sqlDetails = Object.entries(statements).flatMap(([name, ran]) => [`\`${name}\`:`, '', '```sql', ...ran, '```', '']);

writeSection(
  new URL('./RESULTS.md', import.meta.url),
  `api-${ORDERS}`,
  [
    `### ${count(ORDERS)} orders`,
    '',
    `\`${COMMAND}\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${anyLoaded ? ': **on a loaded machine** (see "load")' : ''}:`,
    '',
    ...(await machine(['fastify', 'drizzle-orm', 'postgres', 'autocannon', '@node-rs/argon2'])),
    '',
    'The service, started as production starts it (`node dist/server.js`, NODE_ENV=production,',
    `LOG_LEVEL=warn, LOGIN_RATE_LIMIT=${LOGIN_RATE_LIMIT}: the highest its configuration accepts), and the baseline`,
    '(bench/baseline-server.ts: a bare `node:http` server, a postgres.js pool of the same size (10), the same SQL,',
    'the same JSON, the access token checked as the service checks it and the ETag of a read, and nothing else: no',
    'validation, no log line, no load shedding, no metrics), each in its own',
    `process, on a migrated copy of the ${count(ORDERS)}-order legacy database (\`${DATABASE}\`), on this machine`,
    `with PostgreSQL. autocannon, in the benchmark's process, keeps ${CONNECTIONS} connections busy (one request at a time`,
    `each) for ${SECONDS} s per server in ${ROUNDS} turns, service and baseline alternated (ABBA), after a warm-up of`,
    `${WARMUP} s each. Latencies are over every request of the turns. The ratio is service / baseline in 2xx responses`,
    'per second. "CPU ms/req": CPU time of the server process (all its threads, /proc/<pid>/stat) per request.',
    '"Same SQL": the statements the two servers\' connections ran in the warm-up (pg_stat_activity, sampled every few ms) are identical;',
    '"same body": one answer of each, compared byte for byte (refresh: its keys). "Load": the 1-minute load average',
    "as the turns began (the highest), and the cores that other processes kept busy meanwhile (the machine's busy time in",
    "/proc/stat less that of this process, the two servers, PgBouncer and the database's backends); over",
    `${LOADED_CORES} cores, the figure is marked **loaded**: measured beside other work, not comparable with quiet ones.`,
    '',
    `- "${FLOOR}": the baseline's own handlers answered through Fastify (bench/baseline-server.ts with`,
    '  `BASELINE_HTTP=fastify`: one catch-all route, no logger, no schema, no hook), its own process, in the same',
    "  turns (its ratio is the service's against it; its same SQL and body are against the baseline's): the floor of",
    '  the framework the service is built on.',
    '- "via PgBouncer": the same endpoints through PgBouncer 1.18 in transaction mode (`default_pool_size` 10, the',
    "  service's pool size), the service with `DATABASE_TRANSACTION_POOLER=true` (no named prepared statements),",
    '  the baseline with postgres.js `prepare: false`; non-2xx counts every answer that was not 2xx, and errors.',
    '',
    '- The list requests carry an access token of the service; the deep cursor is the (created_at, id) of the row',
    '  90 % of the way down the status-5 list, encoded as the service encodes its cursors.',
    `- Refresh: ${count(REFRESH_USERS)} bench users, each given a session in SQL beforehand (the SHA-256 of a random token`,
    '  in the slot, as a login leaves it). Their tokens wait in one queue; each request presents the oldest, and the',
    '  token it gets back joins the queue: every token is valid and presented once (tokens rotate).',
    "- Webhook: SalesDrive's deliveries shaped like test/fixtures/salesdrive/new-order.json, each new: new orders and,",
    '  in turn with them once 100 exist, status changes of the order created 100 new orders before (committed long',
    "  since, as SalesDrive's changes come after the order; a history row each); the service also counts each call in its",
    '  database-backed rate limit (written in batches, at most every 250 ms: left out of "same SQL"), which the',
    '  baseline does not have. The orders they create are deleted afterwards.',
    `- Login: ${CONNECTIONS} bench users with an argon2id hash (library defaults, as the service stores them), in turn;`,
    "  against it, `@node-rs/argon2` verify of the same hash in the benchmark's process (CPU: that process), at the",
    '  same concurrency and one at a time, alternated with the logins.',
    '',
    ...table,
    '',
    'Each process: from its spawn until `GET /readyz` answered 200 (the service first migrates: here it finds',
    'nothing to do, and counts no rows; the benchmark runs three servers at once, then two through PgBouncer); its RSS (VmRSS) after start (ready, no',
    'request yet), idle 2 s after the warm-up (median of 10 samples), and the highest of the samples taken',
    'every 100 ms through all the loads above.',
    '',
    ...memoryTable,
    '',
    '<details><summary>The SQL both servers ran, per endpoint</summary>',
    '',
    ...sqlDetails,
    '</details>',
  ].join('\n'),
);
writeScale(say);
say(`wrote bench/RESULTS.md (the api-${ORDERS} and api sections), bench/api-${ORDERS}.json and bench/api-scale-p50.svg, -p99.svg`);
