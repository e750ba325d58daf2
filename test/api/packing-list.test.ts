/**
 * The packing station's one call per order (issue 27): an order of sets comes back as the dishes to
 * pick and scan, with barcodes and weights, and the expected weight is the same expansion's, through
 * HTTP on the migrated legacy backup.
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

const { app, sql, headersFor } = await testApp(t);
const keeper = headersFor('storekeeper');
const admin = headersFor('admin');
const get = (url: string) => app.inject({ url, headers: keeper });

await sql`update products set barcode = '48200' || sku, weight = 400 where sku in ('01001', '01002')`;
await sql`update products set weight = 450 where sku = '01005'`;
// a set of a dish and a set: Набір «Сімейний» = 2 × 01001 + 1 × Набір «Супи» (= 3 × 01005 + 1 × 01002)
await sql`insert into products (sku, name, set, weight) values
  ('03020', 'Набір «Супи»', '[{"id": "01005", "quantity": 3}, {"id": "01002", "quantity": 1}]', null),
  ('03010', 'Набір «Сімейний»', '[{"id": "01001", "quantity": 2}, {"id": "03020", "quantity": 1}]', null)`;
const [box] =
  await sql`update box_settings set barcode = '4820009990001' where id = (select min(id) from box_settings where is_active) returning id, marking, self_weight`;

async function order(id: string, items: { sku: string; quantity: number }[], quantity = 4) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/orders',
    headers: admin,
    payload: {
      id,
      externalId: id,
      orderNumber: id,
      quantity,
      status: '2',
      items: items.map((i) => ({ ...i, productName: i.sku, price: 1 })),
    },
  });
  t.equal(res.statusCode, 201, res.body);
}

t.test('a set line is expanded, recursively, into the dishes to pick, with barcodes and weights', async (t) => {
  await order('pl-1', [
    { sku: '03010', quantity: 2 },
    { sku: '01001', quantity: 1 },
  ]);
  const res = await get(`/api/v1/orders/pl-1/packing-list?boxes=${box!.id}:1`);
  t.equal(res.statusCode, 200, res.body);
  const list = res.json();
  t.same(list.items, [
    {
      sku: '01001',
      name: 'Вареники з картоплею',
      quantity: 5,
      unit: 'pcs',
      barcode: '4820001001',
      weight: 400,
      lineWeight: 2000,
      from: ['03010', '01001'],
    },
    { sku: '01005', name: 'Суп грибний', quantity: 6, unit: 'pcs', barcode: null, weight: 450, lineWeight: 2700, from: ['03010'] },
    { sku: '01002', name: 'Голубці', quantity: 2, unit: 'pcs', barcode: '4820001002', weight: 400, lineWeight: 800, from: ['03010'] },
  ]);
  t.same([list.problems, list.complete, list.itemsWeight], [[], true, 5500]);
  const boxGrams = Math.round(Number(box!.self_weight) * 1000);
  t.same(list.boxes, [{ id: box!.id, marking: box!.marking, barcode: '4820009990001', count: 1 }], 'the box, with its barcode');
  t.equal(list.expectedWeight, 5500 + boxGrams);
  const allowed = Math.max(Math.round(list.expectedWeight * 0.05), 50);
  t.same([list.min, list.max, list.tolerance.allowed], [list.expectedWeight - allowed, list.expectedWeight + allowed, allowed]);

  const weight = (await get(`/api/v1/orders/pl-1/expected-weight?boxes=${box!.id}:1`)).json();
  t.same(
    [weight.itemsWeight, weight.expectedWeight, weight.min, weight.max, weight.missing],
    [5500, list.expectedWeight, list.min, list.max, []],
    'expected-weight: the same expansion',
  );
  const planned = await get('/api/v1/orders/pl-1/packing-list');
  t.equal(planned.statusCode, 200, 'without boxes: the spacious plan');
  t.same(planned.json().items, list.items);
});

t.test('a set that contains itself and a component not in the catalogue are named; the rest is weighed', async (t) => {
  await sql`insert into products (sku, name, set) values ('03030', 'Набір «Петля»', '[{"id": "03031", "quantity": 1}, {"id": "01001", "quantity": 1}]'),
    ('03031', 'Набір у петлі', '[{"id": "03030", "quantity": 2}, {"id": "NO-SUCH", "quantity": 1}]')`;
  await order('pl-2', [{ sku: '03030', quantity: 1 }]);
  const list = (await get('/api/v1/orders/pl-2/packing-list')).json();
  t.same(
    list.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity]),
    [['01001', 1]],
  );
  t.same(list.problems, [
    { sku: '03030', quantity: 2, reason: 'set-cycle', path: ['03030', '03031', '03030'] },
    { sku: 'NO-SUCH', quantity: 1, reason: 'no-product', path: ['03030', '03031', 'NO-SUCH'] },
  ]);
  t.same([list.complete, list.itemsWeight], [false, 400]);
  const weight = (await get('/api/v1/orders/pl-2/expected-weight')).json();
  t.same(
    weight.missing,
    [
      { sku: '03030', quantity: 2, reason: 'set-cycle' },
      { sku: 'NO-SUCH', quantity: 1, reason: 'no-product' },
    ],
    'expected-weight names them too',
  );
});

t.test('barcodes are written through the API, and refused when they are not scannable', async (t) => {
  const [product] = await sql`select id from products where sku = '01005'`;
  const set = await app.inject({
    method: 'PATCH',
    url: `/api/v1/products/${product!.id}`,
    headers: admin,
    payload: { barcode: '4820001005' },
  });
  t.equal(set.statusCode, 200, set.body);
  t.equal(set.json().barcode, '4820001005');
  t.equal(
    (await app.inject({ method: 'PATCH', url: `/api/v1/products/${product!.id}`, headers: admin, payload: { barcode: 'with space' } }))
      .statusCode,
    400,
  );
  const boxSet = await app.inject({
    method: 'PATCH',
    url: `/api/v1/box-settings/${box!.id}`,
    headers: admin,
    payload: { barcode: 'BOX-S3' },
  });
  t.equal(boxSet.statusCode, 200, boxSet.body);
  t.equal(boxSet.json().barcode, 'BOX-S3');
});

t.test('404 for an unknown order, 400 for bad boxes, 401 without a token', async (t) => {
  t.equal((await get('/api/v1/orders/nope/packing-list')).statusCode, 404);
  t.equal((await get('/api/v1/orders/pl-1/packing-list?boxes=999999:1')).statusCode, 400);
  t.equal((await get('/api/v1/orders/pl-1/packing-list?boxes=1')).statusCode, 400);
  t.equal((await get('/api/v1/orders/pl-1/packing-list?other=1')).statusCode, 400);
  t.equal((await app.inject({ url: '/api/v1/orders/pl-1/packing-list' })).statusCode, 401);
});
