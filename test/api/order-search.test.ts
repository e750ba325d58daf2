/**
 * GET /orders?q= for each shape the packing station sends (a TTN or phone ending, an order number,
 * a name fragment), rare and common: the pages hold the matching orders sorted as asked, and the
 * cursor walks them all (src/orders/search.ts: a page found by walking the list, by looking its
 * matches up in the trigram index, at the first try or a later one, or by a walk to the list's end).
 */
import t from 'tap';
import { FIRST_BOUND, GROWTH } from '../../src/orders/search-race.js';
import { buildApp } from '../../src/app.js';
import { LOGINS, TEST_CONFIG, testApp } from '../helpers/app.js';
import { dbMigrate } from '../helpers/commands.js';
import { pgliteFolder } from '../helpers/pglite.js';

const { app, sql, headersFor } = await testApp(t);
const keeper = headersFor('storekeeper');

// a name on the newest orders, more of them than the second walk tests: a walk finds its pages; their order dates repeat
const COMMON = 'Загальнобуденко';
// a name on older orders only, more of them than the first look-up sorts: neither first try finds its first page, a later one does
const OLD = 'Давньоминуленко';
const OLD_MATCHES = FIRST_BOUND + 500;
await sql`insert into orders (id, external_id, order_number, ttn, quantity, status, status_text, items, raw_data, customer_name, customer_phone, order_date, created_at)
  select 'common-' || g, 'common-' || g, 'C-' || g, '20450000' || lpad(g::text, 6, '0'), 1, (1 + g % 8)::text, 'x', '[]'::jsonb, '{}'::jsonb,
         ${COMMON} || ' ' || g, '+38050' || lpad(g::text, 7, '0'), timestamptz '2025-01-01' + (g % 97) * interval '1 hour',
         timestamptz '2025-01-01' + (g % 1000) * interval '1 minute'
  from generate_series(1, ${FIRST_BOUND * GROWTH + 300}) g
  union all
  select 'old-' || g, 'old-' || g, 'D-' || g, '20460000' || lpad(g::text, 6, '0'), 1, (1 + g % 8)::text, 'x', '[]'::jsonb, '{}'::jsonb,
         ${OLD} || ' ' || g, null::text, null::timestamptz, timestamptz '2020-01-01' + g * interval '1 minute'
  from generate_series(1, ${OLD_MATCHES}) g`;
// digits and punctuation beside letters of either case: found by LIKE (nothing in them has a case), the letters by ILIKE
await sql`insert into orders (id, external_id, order_number, ttn, quantity, status, status_text, items, raw_data, customer_name, customer_phone)
  values ('cased-1', 'cased-1', 'НК-0457', 'Ab-0457_9', 1, '1', 'x', '[]', '{}', 'ЗЕЛЕНЮК 0457-Б', '+380 (67) 0457'),
         ('cased-2', 'cased-2', 'нк-0457', 'aB-0457%9', 1, '1', 'x', '[]', '{}', 'зеленюк 0457-б', null)`;
/** Lists longer than this are compared on their first three pages; shorter ones, whole. */
const MANY = 200;

type Sort = { sort: 'createdAt' | 'orderDate'; column: 'created_at' | 'order_date'; order: 'asc' | 'desc' };
const SORTS: Sort[] = [
  { sort: 'createdAt', column: 'created_at', order: 'desc' },
  { sort: 'orderDate', column: 'order_date', order: 'asc' },
];

/** The ids of the orders whose fields contain q, in the list's order (NULLs first going down, last going up). */
async function expected(q: string, { column, order }: Sort, extra = sql``) {
  const like = `%${q.replace(/[\\%_]/g, '\\$&')}%`;
  const direction = order === 'desc' ? sql`desc nulls first` : sql`asc nulls last`;
  const rows = await sql`select id from orders
    where (order_number ilike ${like} or ttn ilike ${like} or customer_name ilike ${like} or customer_phone ilike ${like}) ${extra}
    order by ${sql(column)} ${direction}, id ${order === 'desc' ? sql`desc` : sql`asc`}`;
  return rows.map((r) => r.id as string);
}

/** The ids of up to `pages` pages of the list, following nextCursor. */
async function pages(q: string, { sort, order }: Sort, pages: number, extra = ''): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < pages; page++) {
    const url: string = `/api/v1/orders?q=${encodeURIComponent(q)}&sort=${sort}&order=${order}&limit=40${extra}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ url, headers: keeper });
    t.equal(res.statusCode, 200, res.body);
    const body: { items: { id: string }[]; nextCursor: string | null } = res.json();
    ids.push(...body.items.map((o) => o.id));
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return ids;
}

const [sample] = await sql`select id, ttn, order_number, customer_name, customer_phone from orders
  where ttn <> '' and customer_name is not null and customer_phone is not null and id not like 'common-%' order by id limit 1`;

t.test('every shape, rare and common, sorted as asked, and the cursor walks every match', async (t) => {
  const shapes: [string, string][] = [
    ['a TTN ending', sample!.ttn.slice(-5)],
    ['a phone ending', sample!.customer_phone.slice(-7)],
    ['an order number', sample!.order_number],
    ['a name fragment', sample!.customer_name.split(' ')[0]!.slice(0, 5).toLowerCase()],
    ['a fragment no order has', 'Жодногонема'],
    ['a common name fragment', COMMON.toUpperCase()],
    ['a common TTN fragment', '2045000'],
    ['a name of old orders only', OLD.slice(2, 12)],
    ['digits and punctuation among letters of both cases', '-0457'],
    ['a wildcard character, itself', '0457_9'],
    ['a phone written with brackets', '(67) 045'],
    ['letters of the other case beside digits', 'нк-0457'],
    ['a Latin letter of the other case beside digits', 'B-045'],
  ];
  for (const [shape, q] of shapes) {
    for (const sort of SORTS) {
      const all = await expected(q, sort);
      const found = await pages(q, sort, all.length > MANY ? 3 : 1000);
      t.same(found, all.length > MANY ? all.slice(0, 120) : all, `${shape} (${q}, ${all.length} matches, ${sort.sort} ${sort.order})`);
    }
  }
  const [newer] = await sql`select count(*)::int as n from orders where created_at > '2020-12-31'`;
  t.ok(newer!.n > FIRST_BOUND * GROWTH, 'the first two walks end before the old orders');
  t.equal((await expected(OLD, SORTS[0]!)).length, OLD_MATCHES, 'the old name matches more orders than the first look-up sorts');
  // every way found pages, and went beyond its bound (the common name's look-up, the old name's walks): /metrics says so
  const metrics = await app.metrics.registry.metrics();
  for (const way of ['walk', 'look_up'])
    for (const outcome of ['found', 'beyond_bound']) {
      const line = metrics.split('\n').find((l) => l.startsWith(`backoffice_order_search_tries_total{way="${way}",outcome="${outcome}"}`));
      t.ok(Number(line?.split(' ')[1]) > 0, `${way}: ${outcome}`);
    }
});

t.test('with the other filters, rare and common alike', async (t) => {
  for (const q of [sample!.ttn.slice(-5), COMMON]) {
    const sort = SORTS[0]!;
    const all = await expected(q, sort, sql`and status in ('4', '5')`);
    const found = await pages(q, sort, all.length > MANY ? 3 : 1000, '&status=4&status=5');
    t.same(found, all.length > MANY ? all.slice(0, 120) : all, `${q}: ${all.length} matches of status 4 or 5`);
  }
  // fewer orders than the first walk tests: the walk reaches the list's end
  const phone = sample!.customer_phone;
  const all = await expected(sample!.ttn.slice(-3), SORTS[0]!, sql`and customer_phone = ${phone}`);
  t.ok(all.length > 0);
  t.same(
    await pages(sample!.ttn.slice(-3), SORTS[0]!, 1000, `&customerPhone=${encodeURIComponent(phone)}`),
    all,
    'with a phone: to the end',
  );
});

t.test('on PGlite too: the look-up and the page in one transaction', async (t) => {
  const dataDir = await pgliteFolder(t, 'legacy-migrated');
  t.equal((await dbMigrate({ dataDir })).code, 0);
  const embedded = await buildApp({ ...TEST_CONFIG, database: { dataDir } });
  t.teardown(() => embedded.close());
  const login = await embedded.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: LOGINS.storekeeper.email, password: LOGINS.storekeeper.password },
  });
  const headers = { authorization: `Bearer ${login.json().accessToken}` };
  const q = sample!.ttn.slice(-5);
  const res = await embedded.inject({ url: `/api/v1/orders?q=${q}&limit=100`, headers });
  t.equal(res.statusCode, 200, res.body);
  const like = `'%${q}%'`; // digits
  const rows = await embedded.database.query<{ id: string }>(
    `select id from orders where order_number ilike ${like} or ttn ilike ${like} or customer_name ilike ${like} or customer_phone ilike ${like} order by created_at desc, id desc limit 100`,
  );
  t.same(
    res.json().items.map((o: { id: string }) => o.id),
    rows.map((r) => r.id),
  );
});
