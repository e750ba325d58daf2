/**
 * Where the service's CPU goes per request, next to the baseline's:
 * `npx tsx bench/api-profile.ts [--endpoints read,refresh] [--seconds 10] [--connections 10] [--orders 1000000]`.
 *
 * Runs the service and the baseline as bench/api.ts runs them directly (a statement named where the
 * service names it), then both with every statement unnamed (parse and describe, then bind and
 * execute), as behind a transaction pooler but on PostgreSQL directly, all four at once under
 * `node --cpu-prof`; loads each in turn with every endpoint named (list, deep, read, refresh …) as
 * bench/api.ts does, and splits the main thread's samples of each load into categories: CPU
 * milliseconds per request. Writes the "api-profile" section of bench/RESULTS.md. `--functions N`
 * also prints, per endpoint, the N functions with the most time of their own in the service or the
 * baseline (µs per request): where a category's time goes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  accessToken,
  endpoints,
  ensureApiDatabase,
  fixtures,
  forgetWebhookOrders,
  startBaseline,
  startService,
  useOrders,
  type Endpoint,
} from './lib/api-setup.js';
import { attribute, profileClock, readProfile, selfTimes, type CallFrame, type Category } from './lib/cpu-profile.js';
import { httpLoad } from './lib/load.js';
import { cpuSeconds, type Server } from './lib/processes.js';
import { count, machine, writeSection } from './lib/results.js';

const { values: options } = parseArgs({
  options: {
    endpoints: { type: 'string', default: 'read,refresh' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    orders: { type: 'string', default: process.env.BENCH_ORDERS ?? '1000000' },
    functions: { type: 'string', default: '0' },
  },
});
useOrders(Number(options.orders));
const SECONDS = Number(options.seconds);
const CONNECTIONS = Number(options.connections);
const COMMAND = ['npx tsx bench/api-profile.ts', ...process.argv.slice(2)].join(' ');
const say = (line: string) => console.log(`[api-profile] ${line}`);

const url = (pattern: RegExp) => (frame: CallFrame) => pattern.test(frame.url);
const named =
  (...names: string[]) =>
  (frame: CallFrame) =>
    names.includes(frame.functionName);
const owns = true;
/** drizzle-orm's own source maps name its files `../src/…`: through the bundle's map they are node_modules/src/…. */
const DRIZZLE = /drizzle-orm|node_modules\/src\//;
/** An owning category takes the frame's whole subtree (first in this order wins); the others, what no deeper frame's takes. */
const CATEGORIES: Category[] = [
  { name: 'idle', owns, claims: named('(idle)') },
  { name: 'garbage collection', owns, claims: named('(garbage collector)') },
  {
    name: 'access tokens: verify, claims, user state; sign on refresh (@fastify/jwt, fast-jwt, plugins/auth.ts, revocation.ts; the baseline’s authorized)',
    owns,
    claims: (f) => /@fastify\/jwt|fast-jwt|src\/plugins\/(auth|revocation)\./.test(f.url) || f.functionName === 'authorized',
  },
  { name: 'ETag: SHA-256 of the row as JSON (tagOf)', owns, claims: named('tagOf') },
  { name: 'request validation (TypeBox)', owns, claims: url(/typebox|fastify\/lib\/validation/) },
  {
    name: 'response serialisation (fast-json-stringify)',
    owns,
    claims: (f) => /fast-json-stringify/.test(f.url) || (/node_modules\/fastify\//.test(f.url) && f.functionName === 'serialize'),
  },
  { name: 'log line per request (onResponse hook, pino)', owns, claims: url(/src\/app\.ts|node_modules\/pino/) },
  // not owning: its onRequest hook calls the hooks and the handler after it
  { name: '@fastify/under-pressure', claims: url(/under-pressure/) },
  { name: '@fastify/rate-limit', owns, claims: url(/rate-limit/) },
  { name: 'request id (crypto.randomUUID)', owns, claims: named('randomUUID') },
  { name: 'postgres.js: protocol, values, its socket writes', owns, claims: url(/node_modules\/postgres\//) },
  {
    name: 'drizzle-orm: building the SQL, on every request',
    owns,
    claims: (f) => DRIZZLE.test(f.url) && f.functionName === '_prepare',
  },
  { name: 'drizzle-orm: running the query, rows to objects', owns, claims: url(DRIZZLE) },
  { name: 'socket reads and writes (HTTP)', claims: url(/^node:(net|internal\/stream_base_commons)$/) },
  { name: 'node:http: parsing, headers, response', claims: url(/^node:_http/) },
  {
    name: 'fastify core: routing, hooks, reply',
    claims: url(/node_modules\/(fastify|find-my-way|avvio|@fastify\/error|fastify-plugin)\//),
  },
  { name: 'route handlers (src/routes, src/plugins; baseline-server.ts)', claims: url(/src\/routes|src\/plugins|baseline-server/) },
];

interface Measured {
  requests: number;
  non2xx: number;
  seconds: number;
  /** CPU of the whole process per request (/proc), ms. */
  cpuPerRequest: number;
  /** Main thread's profile, ms per request per category. */
  perRequest: Map<string, number>;
  /** Main thread's profile, ms per request per function (its own time). */
  functions: Map<string, number>;
}

const SERVERS: [string, (nodeArgs: string[]) => Promise<Server>][] = [
  ['service', (nodeArgs) => startService(nodeArgs)],
  ['baseline', (nodeArgs) => startBaseline({ prepare: true }, nodeArgs)],
  // as behind a transaction pooler (DATABASE_TRANSACTION_POOLER), PostgreSQL directly: what unnamed statements cost each
  ['service, every statement unnamed', (nodeArgs) => startService(nodeArgs, { DATABASE_TRANSACTION_POOLER: 'true' })],
  ['baseline, every statement unnamed', (nodeArgs) => startBaseline({ prepare: false }, nodeArgs)],
];

await ensureApiDatabase(say);
const f = await fixtures(CONNECTIONS);
const wanted = options.endpoints.split(',');
const results = new Map<string, Map<string, Measured>>(); // endpoint -> server -> figures

interface Window {
  endpoint: Endpoint;
  from: number;
  to: number;
  requests: number;
  non2xx: number;
  seconds: number;
  cpu: number;
}
// every server started at once and each endpoint loaded on one at a time, in an order that turns round from one
// endpoint to the next: a machine whose speed drifts over minutes then drifts for all of them alike
const running: { name: string; dir: string; server: Server; windows: Window[] }[] = [];
try {
  for (const [name, start] of SERVERS) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
    running.push({ name, dir, server: await start(['--cpu-prof', `--cpu-prof-dir=${dir}`]), windows: [] });
  }
  // the token from the service, which SERVERS names first
  const list = endpoints(f, await accessToken(running[0]!.server, f)).filter((e) => wanted.includes(e.key));
  for (const [i, endpoint] of list.entries()) {
    for (const { name, server, windows } of i % 2 === 0 ? running : [...running].reverse()) {
      say(`${name}: ${endpoint.name} …`);
      await httpLoad({ ...endpoint.load, url: server.url }, CONNECTIONS, 2); // warm-up
      const [from, cpu] = [profileClock(), cpuSeconds(server.pid)];
      const run = await httpLoad({ ...endpoint.load, url: server.url }, CONNECTIONS, SECONDS);
      windows.push({
        endpoint,
        from,
        to: profileClock(),
        requests: run.latencies.length,
        non2xx: run.non2xx + run.errors,
        seconds: run.seconds,
        cpu: cpuSeconds(server.pid) - cpu,
      });
    }
  }
} finally {
  await Promise.all(running.map(({ server }) => server.stop()));
  await forgetWebhookOrders();
}
for (const { name, dir, server, windows } of running) {
  const profile = readProfile(dir, server.pid);
  rmSync(dir, { recursive: true });
  for (const w of windows) {
    const totals = attribute(profile, CATEGORIES, w.from, w.to);
    const perRequest = new Map([...totals].map(([category, ms]) => [category, ms / w.requests]));
    const byServer = results.get(w.endpoint.name) ?? new Map<string, Measured>();
    byServer.set(name, {
      requests: w.requests,
      non2xx: w.non2xx,
      seconds: w.seconds,
      cpuPerRequest: (1000 * w.cpu) / w.requests,
      perRequest,
      functions: new Map([...selfTimes(profile, w.from, w.to)].map(([fn, ms]) => [fn, ms / w.requests])),
    });
    results.set(w.endpoint.name, byServer);
  }
}

const FUNCTIONS = Number(options.functions);
if (FUNCTIONS > 0) {
  for (const [endpoint, byServer] of results) {
    const [service, baseline] = [byServer.get('service')!.functions, byServer.get('baseline')!.functions];
    const most = (fn: string) => Math.max(service.get(fn) ?? 0, baseline.get(fn) ?? 0);
    const top = [...new Set([...service.keys(), ...baseline.keys()])].sort((a, b) => most(b) - most(a)).slice(0, FUNCTIONS);
    const us = (x: number | undefined) => ((x ?? 0) * 1000).toFixed(1).padStart(8);
    console.log(`\n${endpoint}: µs of its own per request, service / baseline`);
    for (const fn of top) console.log(`${us(service.get(fn))} ${us(baseline.get(fn))}  ${fn}`);
  }
}

const ms = (x: number | undefined) => (x === undefined || x < 0.0005 ? '' : x.toFixed(3));
const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
const names = SERVERS.map(([name]) => name);

function endpointSection(endpoint: string, byServer: Map<string, Measured>): string[] {
  const of = (server: string) => byServer.get(server)!;
  const busy = (m: Measured) => [...m.perRequest].filter(([c]) => c !== 'idle').reduce((sum, [, x]) => sum + x, 0);
  const categories = [...new Set(names.flatMap((n) => [...of(n).perRequest.keys()]))].filter((c) => c !== 'idle');
  const gap = (c: string) => (of('service').perRequest.get(c) ?? 0) - (of('baseline').perRequest.get(c) ?? 0);
  categories.sort((a, b) => gap(b) - gap(a));
  return [
    `### \`${endpoint}\``,
    '',
    line(['CPU ms per request', ...names]),
    line(['---', ...names.map(() => '---:')]),
    line(['requests per second', ...names.map((n) => count(Math.round(of(n).requests / of(n).seconds)))]),
    line(['non-2xx responses', ...names.map((n) => count(of(n).non2xx))]),
    line(['**whole process** (/proc: all threads)', ...names.map((n) => `**${ms(of(n).cpuPerRequest)}**`)]),
    line(['**main thread** (profile, busy)', ...names.map((n) => `**${ms(busy(of(n)))}**`)]),
    ...categories.map((c) => line([c, ...names.map((n) => ms(of(n).perRequest.get(c)))])),
    '',
  ];
}

writeSection(
  new URL('./RESULTS.md', import.meta.url),
  'api-profile',
  [
    '## Where the service spends its CPU',
    '',
    `\`${COMMAND}\`, ${new Date().toISOString().slice(0, 10)}, on the same machine and database as above:`,
    '',
    ...(await machine(['fastify', 'drizzle-orm', 'postgres', 'autocannon'])),
    '',
    'The four servers at once under `node --cpu-prof` (which slows each a little), each endpoint loaded on one at a time,',
    'in an order that turns round from one endpoint to the next, as in "The API under load"',
    `(${CONNECTIONS} connections, ${SECONDS} s per endpoint after a 2 s warm-up): the service and the baseline as they`,
    'run there directly (a statement named, prepared once per connection, where the service names it), then both',
    'with every statement unnamed (parse and describe, then bind and execute: two round trips), as behind',
    'a transaction pooler (`DATABASE_TRANSACTION_POOLER=true`, `BASELINE_PREPARE=false`) but on PostgreSQL',
    "directly. Each sample of the main thread in the load's time window",
    'counts for one category (bench/api-profile.ts lists them: a library takes everything it calls, e.g. the',
    "ETag its hashing; socket I/O, node:http, fastify and the handlers only what no deeper frame's category",
    'takes), per request, in CPU milliseconds; rows sorted by what the service spends more than the baseline.',
    '',
    ...[...results].flatMap(([endpoint, byServer]) => endpointSection(endpoint, byServer)),
  ].join('\n'),
);
say('wrote bench/RESULTS.md (api-profile section)');
