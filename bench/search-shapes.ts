/**
 * Every shape of search the packing station sends, one request at a time through the service (buildApp,
 * app.inject), on a bench database bench/api.ts built: `npx tsx bench/search-shapes.ts --orders 1000000`.
 * Prints p50 and p99 per shape (TTN and phone endings, order numbers, names common and rare, three
 * characters), alone, with a status, and sorted by order date ascending. Logs in as the legacy admin.
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { buildApp } from '../src/app.js';
import { DATABASE, useOrders } from './lib/api-setup.js';
import { urlFor } from './lib/pg.js';

const { values: options } = parseArgs({ options: { orders: { type: 'string', default: '1000000' } } });
useOrders(Number(options.orders));
const url = urlFor(DATABASE);
const sql = postgres(url, { max: 1 });
const app = await buildApp({
  database: { url },
  jwtSecret: 'bench-secret-bench-secret-bench-secret!',
  accessTokenTtl: 3600,
  refreshTokenTtl: 86400,
  refreshReuseGrace: 10,
  loginRateLimit: 10000,
  loginRateLimitPerClient: 10000,
  maxSessionsPerUser: 10,
});
await app.ready();
const login = await app.inject({
  method: 'POST',
  url: '/api/v1/auth/login',
  payload: { email: 'admin@nk-food.shop', password: 'admin-Passw0rd!' },
});
const headers = { authorization: `Bearer ${login.json().accessToken}` };
const sample =
  await sql`select ttn, order_number, customer_phone, customer_name from orders tablesample bernoulli (0.01) repeatable (7) where ttn <> '' limit 40`;
const shapes: [string, string[]][] = [
  ['TTN ending (5 digits)', sample.map((r) => r.ttn.slice(-5))],
  // orders without a phone give none (they once gave '0000', which 1.6 % of orders hold somewhere: the line below)
  ['phone ending (4 digits)', sample.flatMap((r) => (r.customer_phone ? [r.customer_phone.slice(-4)] : []))],
  // digits that many TTNs hold, spread evenly through the list: too many to sort, too sparse to walk to quickly
  ['4 digits held by 1-2 % of orders (0000)', ['0000']],
  ['order number', sample.map((r) => r.order_number)],
  ['surname (common)', ['Коваль', 'Шевчук', 'Марченко', 'Бондар']],
  ['first name (common)', ['Оксана', 'Іван', 'Олена']],
  ['name fragment (rare)', ['Ковальчукевич', 'Зайченко-Бойко', 'Оксанаіван']],
  ['3 characters (matches nearly all)', ['380', '067', 'ова']],
];
const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
for (const suffix of ['', '&status=5', '&sort=orderDate&order=asc']) {
  for (const [name, terms] of shapes) {
    const times: number[] = [];
    let found = 0;
    for (let round = 0; round < 2; round++)
      for (const term of terms) {
        const t = performance.now();
        const r = await app.inject({ url: `/api/v1/orders?q=${encodeURIComponent(term)}${suffix}`, headers });
        times.push(performance.now() - t);
        if (r.statusCode !== 200) throw new Error(r.body);
        found += r.json().items.length;
      }
    console.log(
      `${name}${suffix}: n=${times.length} p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, items/page ${(found / times.length).toFixed(1)}`,
    );
  }
}
await app.close();
await sql.end();
process.exit(0);
