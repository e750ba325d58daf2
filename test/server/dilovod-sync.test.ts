/**
 * The catalogue from Dilovod as the service meets Dilovod (issue 27): a local stand-in of its API
 * (test/helpers/dilovod.ts) answering as the old back office read it, up, down, slow, busy, answering
 * errors as 200 bodies, returning half the catalogue; the sync run through the API on the migrated
 * legacy backup. A complete run upserts by SKU and never touches weight; a failed run is failed and
 * changes nothing; a partial catalogue is refused, not applied.
 */
import t from 'tap';
import type { App } from '../../src/app.js';
import { DILOVOD_KEY, dilovodConfig, dilovodStandIn, GOODS, syncRun, type Run } from '../helpers/dilovod.js';
import { testApp } from '../helpers/app.js';

const dilovod = await dilovodStandIn();
t.teardown(() => dilovod.close());
const { app, sql, headersFor, logs } = await testApp(t, { dilovod: dilovodConfig(dilovod.url) });
const admin = headersFor('admin');

const syncNow = (on: App, query?: string) => syncRun(on, admin, query);

/** Everything of the catalogue, to show that a run changed nothing. */
const catalogue = async () => sql`select * from products order by id`;

t.test(
  'a complete run: new goods created, Dilovod fields updated by SKU, weight never touched; the next run finds nothing to change',
  async (t) => {
    const weights = await sql`select sku, weight from products order by sku`;
    const run = await syncNow(app);
    t.equal(run.state, 'succeeded', run.error ?? '');
    t.same([run.created, run.outdated], [2, 0], 'the two goods new in Dilovod; none gone');
    const products = GOODS.filter((g) => g.sku).length;
    t.equal(run.created! + run.changed! + run.unchanged!, products, 'every good with an SKU counted once');
    t.ok(run.changed! > 100, 'most legacy products gain a barcode');
    t.ok(run.durationMs !== null && run.durationMs >= 0, 'with its duration');

    t.same(await sql`select sku, weight from products where sku not in ('02001', '02002') order by sku`, weights, 'no weight changed');
    const [dish] =
      await sql`select name, cost_per_item, category_name, barcode, weight, dilovod_id, set, additional_prices, outdated_at from products where sku = '02001'`;
    t.same(dish, {
      name: 'Вареники з вишнею',
      cost_per_item: '128.50',
      category_name: 'Другі страви',
      barcode: '4820000002001',
      weight: null,
      dilovod_id: '1100300002001',
      set: null,
      additional_prices: null,
      outdated_at: null,
    });
    const [set] = await sql`select cost_per_item, set, additional_prices, parent from products where sku = '02002'`;
    t.same(
      set,
      {
        cost_per_item: '499.00',
        set: [
          { id: '02001', quantity: 2 },
          { id: '01005', quantity: 1 },
        ],
        additional_prices: null,
        parent: '1100300000000',
      },
      'a set by its components’ SKUs; the 0.00 price left out, as the old sync did',
    );
    const [family] = await sql`select set, dilovod_id from products where sku = '01009'`;
    t.same(
      family,
      {
        set: [
          { id: '01002', quantity: 1 },
          { id: '01005', quantity: 2 },
        ],
        dilovod_id: '1100300000901',
      },
      'tpGoods sent as an object of rows reads the same; a dilovodId the old back office lacked is filled',
    );
    const [wholesale] = await sql`select additional_prices from products where sku = '01004'`;
    t.same(wholesale!.additional_prices, [{ priceType: 'wholesale', priceValue: 60.88 }], 'other price types by name');
    t.ok(
      dilovod.calls.every((c) => c.key === DILOVOD_KEY),
      'the key in every body',
    );
    t.equal(dilovod.maxConcurrent, 1, 'one call at a time');
    t.notOk(logs.join('').includes(DILOVOD_KEY), 'the key in no log line');

    const again = await syncNow(app);
    t.same(
      [again.state, again.created, again.changed, again.unchanged, again.outdated],
      ['succeeded', 0, 0, products, 0],
      'nothing changed: nothing written',
    );

    // the packing station expands the new set at once
    const order = await app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: admin,
      payload: {
        id: 'dv-1',
        externalId: 'dv-1',
        orderNumber: 'dv-1',
        quantity: 3,
        status: '2',
        items: [{ productName: 'Набір «Новорічний»', sku: '02002', quantity: 1, price: 499 }],
      },
    });
    t.equal(order.statusCode, 201, order.body);
    const list = (await app.inject({ url: '/api/v1/orders/dv-1/packing-list', headers: headersFor('storekeeper') })).json();
    t.same(
      list.items.map((i: { sku: string; quantity: number; barcode: string }) => [i.sku, i.quantity, i.barcode]),
      [
        ['02001', 2, '4820000002001'],
        ['01005', 1, '4820000001005'],
      ],
    );
    t.same(
      list.problems,
      [{ sku: '02001', quantity: 2, reason: 'no-weight', path: [] }],
      'the new dish has no weight until the shop gives it one',
    );
  },
);

t.test('Dilovod answering an error as HTTP 200 is a failed run, never rows; the key does not show', async (t) => {
  const before = await catalogue();
  dilovod.mode = 'error';
  const run = await syncNow(app);
  dilovod.mode = 'up';
  t.equal(run.state, 'failed');
  t.match(run.error, /^Dilovod answered an error: Access denied for key \*\*\*/);
  t.notOk(run.error!.includes(DILOVOD_KEY), 'the key masked');
  t.same([run.created, run.changed, run.outdated], [null, null, null]);
  t.same(await catalogue(), before, 'nothing changed, nothing marked outdated');
});

t.test('down (503) and slow: retried with backoff, then failed; busy once: retried and done', async (t) => {
  const before = await catalogue();
  dilovod.mode = 'down';
  dilovod.calls.length = 0;
  const down = await syncNow(app);
  t.equal(down.state, 'failed');
  t.match(down.error, /^Dilovod answered 503/);
  t.equal(dilovod.calls.length, 3, 'the first read tried three times (DILOVOD_RETRIES=2), then the run stopped');

  dilovod.mode = 'slow';
  dilovod.delay = 1500;
  const slow = await syncNow(app);
  t.equal(slow.state, 'failed');
  t.equal(slow.error, 'Dilovod did not answer in 1 s');
  t.same(await catalogue(), before, 'nothing changed');

  dilovod.mode = 'busy-once';
  const busy = await syncNow(app);
  t.equal(busy.state, 'succeeded', busy.error ?? '');
  dilovod.mode = 'up';
});

t.test(
  'half the catalogue: refused, nothing applied, the message says why; an admin may apply it, and the next full run brings them back',
  async (t) => {
    const before = await catalogue();
    dilovod.mode = 'partial';
    const refused = await syncNow(app);
    t.equal(refused.state, 'refused');
    t.ok(refused.outdated! > 50, `it would have marked ${refused.outdated} outdated`);
    t.match(
      refused.error,
      /^Refused: this run would mark \d+ of the \d+ products from Dilovod outdated \(.*\) and leave \d+ without a price.*more than DILOVOD_MAX_CHANGE_SHARE \(10 %\)\. Nothing was applied\./,
    );
    t.same(await catalogue(), before, 'nothing applied');

    const forced = await syncNow(app, '?allowLargeChange=true');
    t.equal(forced.state, 'succeeded', forced.error ?? '');
    t.equal(forced.outdated, refused.outdated);
    t.same(
      await sql`select count(*)::int as n from products where outdated_at is not null`,
      [{ n: refused.outdated }],
      'marked outdated, not deleted',
    );
    dilovod.mode = 'up';
    const full = await syncNow(app);
    t.equal(full.state, 'succeeded');
    t.ok(full.changed! >= refused.outdated!, 'back in Dilovod (with their prices): no longer outdated');
    t.same(await sql`select count(*)::int as n from products where outdated_at is not null`, [{ n: 0 }]);
  },
);

t.test('the runs, newest first, to admin and boss; only an admin starts one; bad input is a 400', async (t) => {
  const list = await app.inject({ url: '/api/v1/products/sync/runs?limit=3', headers: headersFor('boss') });
  t.equal(list.statusCode, 200, list.body);
  t.equal(list.json().items.length, 3);
  t.ok(list.json().nextCursor, 'paged');
  const states = (await app.inject({ url: '/api/v1/products/sync/runs?limit=100', headers: admin })).json().items.map((r: Run) => r.state);
  t.same(states.slice(0, 3), ['succeeded', 'succeeded', 'refused'], 'newest first');
  for (const role of ['boss', 'storekeeper', 'shop-manager'] as const) {
    t.equal((await app.inject({ method: 'POST', url: '/api/v1/products/sync', headers: headersFor(role) })).statusCode, 403, role);
  }
  t.equal((await app.inject({ url: '/api/v1/products/sync/runs', headers: headersFor('storekeeper') })).statusCode, 403);
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/products/sync', headers: admin, payload: { allowLargeChange: true } })).statusCode,
    400,
    'a body: it takes none',
  );
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/products/sync?force=true', headers: admin })).statusCode,
    400,
    'an unknown parameter',
  );
  t.equal((await app.inject({ url: '/api/v1/products/sync/runs/not-a-uuid', headers: admin })).statusCode, 400);
  t.equal((await app.inject({ url: '/api/v1/products/sync/runs/0b9e4c1a-6f0d-4e57-9a43-5c1d2f3e4a5b', headers: admin })).statusCode, 404);
});

t.test('without DILOVOD_URL the sync is off: 409, and nothing is queued', async (t) => {
  const off = await testApp(t);
  const res = await off.app.inject({ method: 'POST', url: '/api/v1/products/sync', headers: off.headersFor('admin') });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'DILOVOD_DISABLED');
  t.same(await off.sql`select count(*)::int as n from catalogue_sync_runs`, [{ n: 0 }]);
});
