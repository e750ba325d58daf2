/**
 * GET /orders?q= when the trigram index cannot tell its candidates from its matches: every one of
 * 20,000 orders holds both trigrams of q, in a long name, and 60 of them hold q. The look-up would
 * read them all; it gives up past the time it is given (src/orders/search-race.ts), its savepoint
 * undoes its settings, and the walk finds the page, as the list has it. The metrics say so.
 */
import t from 'tap';
import { FIRST_WALK } from '../../src/orders/search-race.js';
import { testApp } from '../helpers/app.js';

// a session statement_timeout of its own: the look-up's time is the lesser
const { app, sql, headersFor } = await testApp(t, { statementTimeout: 5 });
const Q = '1045';
const CANDIDATES = 20_000;
const EVERY = 100; // a match every 100 orders: the first walk finds 10, fewer than a page
await sql`insert into orders (id, external_id, order_number, ttn, quantity, status, status_text, items, raw_data, customer_name, created_at)
  select 'slow-' || g, 'slow-' || g, translate(g::text, '0123456789', 'abcdefghij'), case when g % ${EVERY} = 0 then 'TTN-' || ${Q} else '' end,
         1, '1', 'x', '[]'::jsonb, '{}'::jsonb, repeat('104 045 ', 400), timestamptz '2030-01-01' + g * interval '1 second'
  from generate_series(1, ${CANDIDATES}) g`;
await sql`analyze orders`;

/** The metric's value for the way and outcome, as Prometheus would read it. */
async function tries(way: string, outcome: string) {
  const text = await app.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`backoffice_order_search_tries_total{way="${way}",outcome="${outcome}"}`));
  return Number(line?.split(' ')[1]);
}

t.test('a look-up past its time is given up, and the walk finds the page the list has', async (t) => {
  const before = await tries('look_up', 'past_time');
  const res = await app.inject({ url: `/api/v1/orders?q=${Q}&limit=50`, headers: headersFor('storekeeper') });
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'answered' : res.body);
  const expected = await sql`select id from orders where ttn like ${`%${Q}%`} or order_number like ${`%${Q}%`}
    or coalesce(customer_phone, '') like ${`%${Q}%`} order by created_at desc, id desc limit 50`;
  t.same(
    res.json().items.map((o: { id: string }) => o.id),
    expected.map((r) => r.id),
  );
  t.equal(expected.length, 50);
  t.ok((await tries('look_up', 'past_time')) > before, 'the look-up was given up');
  t.ok((await tries('walk', 'found')) >= 1, 'a walk found the page');
  t.ok(CANDIDATES / EVERY > 50 && FIRST_WALK / EVERY < 51, 'the first walk finds fewer than a page');
});
