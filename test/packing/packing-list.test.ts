/**
 * The expansion of sets, by property over random catalogues (fast-check): sets of sets nested to any
 * depth the catalogue allows, any quantities. The packing list's weight is the sum of component
 * weights times quantities, computed here independently by recursion; every piece is listed once per
 * SKU; a set that contains itself, or a component not in the catalogue, is named and never loops.
 */
import fc from 'fast-check';
import t from 'tap';
import { expand, linesOf, MAX_SET_DEPTH, type CatalogueProduct, type OrderLine } from '../../src/packing/packing-list.js';

const RUNS = 300;

interface Component {
  id: number;
  quantity: number;
}

/**
 * Products 0 … n-1 (n ≤ MAX_SET_DEPTH + 1, so that no chain is too deep); product i may be a set of
 * products with a higher index (no cycle), with quantities 1 to 3; plain products weigh 1 to 2000 g.
 */
const catalogues = fc.integer({ min: 1, max: MAX_SET_DEPTH + 1 }).chain((n) =>
  fc.tuple(
    ...Array.from({ length: n }, (_, i) =>
      fc.record({
        weight: fc.integer({ min: 1, max: 2000 }),
        components:
          i === n - 1
            ? fc.constant<Component[]>([])
            : fc
                .uniqueArray(fc.integer({ min: i + 1, max: n - 1 }), { maxLength: 4 })
                .chain((ids) =>
                  fc
                    .tuple(...ids.map((id) => fc.record({ id: fc.constant(id), quantity: fc.integer({ min: 1, max: 3 }) })))
                    .map((components): Component[] => [...components]),
                ),
      }),
    ),
  ),
);
const sku = (i: number) => `S${String(i).padStart(3, '0')}`;

function catalogueOf(specs: { weight: number; components: Component[] }[]): Map<string, CatalogueProduct> {
  return new Map(
    specs.map((spec, i) => [
      sku(i),
      {
        sku: sku(i),
        name: `Product ${i}`,
        weight: spec.components.length ? null : spec.weight,
        barcode: `48200${i}`,
        set: spec.components.length ? spec.components.map((c) => ({ id: sku(c.id), quantity: c.quantity })) : null,
      },
    ]),
  );
}

/** The reference: one unit's weight and its pieces per plain SKU, by plain recursion. */
function reference(catalogue: Map<string, CatalogueProduct>, code: string, times: number, pieces: Map<string, number>): number {
  const product = catalogue.get(code)!;
  if (Array.isArray(product.set) && product.set.length) {
    return (product.set as { id: string; quantity: number }[]).reduce(
      (sum, c) => sum + reference(catalogue, c.id, times * c.quantity, pieces),
      0,
    );
  }
  pieces.set(code, (pieces.get(code) ?? 0) + times);
  return times * product.weight!;
}

const orderLines = (n: number) =>
  fc.array(fc.record({ index: fc.integer({ min: 0, max: n - 1 }), quantity: fc.integer({ min: 0, max: 5 }) }), {
    minLength: 1,
    maxLength: 6,
  });

t.test('any nesting, any quantities: the weight is Σ component weight × quantity, each piece listed once', async (t) => {
  fc.assert(
    fc.property(
      catalogues.chain((specs) => fc.tuple(fc.constant(specs), orderLines(specs.length))),
      ([specs, picked]) => {
        const catalogue = catalogueOf(specs);
        const lines: OrderLine[] = picked.map((p) => ({ sku: sku(p.index), quantity: p.quantity, name: null }));
        const pieces = new Map<string, number>();
        const weight = lines.reduce((sum, line) => sum + reference(catalogue, line.sku!, line.quantity!, pieces), 0);
        const result = expand(lines, catalogue);
        t.same(result.problems, [], 'nothing to name');
        t.equal(result.itemsWeight, weight, 'the weight, as the recursion gives it');
        t.equal(
          result.items.reduce((sum, item) => sum + item.lineWeight!, 0),
          weight,
          'Σ lineWeight',
        );
        t.ok(
          result.items.every((item) => item.lineWeight === item.quantity * item.weight!),
          'lineWeight = quantity × weight',
        );
        t.same(
          new Map(result.items.map((item) => [item.sku, item.quantity])),
          new Map([...pieces].filter(([, n]) => n > 0)),
          'every plain product once, with all its pieces; no set listed',
        );
        t.ok(
          result.items.every((item) => item.barcode === catalogue.get(item.sku)!.barcode),
          'with its barcode',
        );
      },
    ),
    { numRuns: RUNS },
  );
});

t.test('a set that contains itself, directly or further down, is named with its loop, and the rest is still weighed', async (t) => {
  fc.assert(
    fc.property(
      catalogues.filter((specs) => specs.length >= 2 && specs[0]!.components.length > 0),
      fc.integer({ min: 1, max: 3 }),
      (specs, quantity) => {
        const catalogue = catalogueOf(specs);
        // the deepest set reached from product 0 gets product 0 as one more component: a loop
        let last = sku(0);
        for (
          let at = catalogue.get(last)!;
          Array.isArray(at.set) && at.set.some((c: { id: string }) => Array.isArray(catalogue.get(c.id)!.set));
        ) {
          last = (at.set as { id: string }[]).find((c) => Array.isArray(catalogue.get(c.id)!.set))!.id;
          at = catalogue.get(last)!;
        }
        const looped = catalogue.get(last)!;
        catalogue.set(last, { ...looped, set: [...(looped.set as object[]), { id: sku(0), quantity }] });
        const result = expand([{ sku: sku(0), quantity: 1, name: null }], catalogue);
        const cycles = result.problems.filter((p) => p.reason === 'set-cycle');
        t.ok(cycles.length >= 1, 'named');
        t.ok(
          cycles.every((p) => p.path[0] === sku(0) && p.path.at(-1) === sku(0)),
          'its path goes round the loop',
        );
        t.equal(
          result.itemsWeight,
          result.items.reduce((sum, item) => sum + item.lineWeight!, 0),
          'what is listed is weighed',
        );
      },
    ),
    { numRuns: RUNS },
  );
});

t.test('a component not in the catalogue, a product without weight, malformed lines and sets: each named', async (t) => {
  const catalogue = new Map<string, CatalogueProduct>([
    [
      'SET',
      {
        sku: 'SET',
        name: 'Набір «Сімейний»',
        weight: null,
        barcode: null,
        set: [
          { id: 'A', quantity: 2 },
          { id: 'GONE', quantity: 1 },
          { id: 'NW', quantity: 3 },
        ],
      },
    ],
    ['A', { sku: 'A', name: 'Вареники', weight: 400, barcode: '1', set: null }],
    ['NW', { sku: 'NW', name: 'Без ваги', weight: null, barcode: '2', set: [] }],
    ['BAD', { sku: 'BAD', name: 'Зламаний набір', weight: null, barcode: null, set: [{ id: 'A', quantity: '2' }] }],
    ['SELF', { sku: 'SELF', name: 'Сам у собі', weight: null, barcode: null, set: [{ id: 'SELF', quantity: 1 }] }],
  ]);
  const result = expand(
    linesOf([
      { sku: 'SET', quantity: 2, productName: 'Набір «Сімейний»' },
      { sku: 'A', quantity: 1 },
      { sku: 'BAD', quantity: 1 },
      { sku: 'SELF', quantity: 1 },
      { quantity: 1 },
    ]),
    catalogue,
  );
  t.same(
    result.items.map((i) => [i.sku, i.quantity, i.lineWeight, i.from]),
    [
      ['A', 5, 2000, ['SET', 'A']],
      ['NW', 6, null, ['SET']],
    ],
  );
  t.same(result.problems, [
    { sku: 'GONE', quantity: 2, reason: 'no-product', path: ['SET', 'GONE'] },
    { sku: 'NW', quantity: 6, reason: 'no-weight', path: [] },
    { sku: 'BAD', quantity: 1, reason: 'malformed-set', path: ['BAD'] },
    { sku: 'SELF', quantity: 1, reason: 'set-cycle', path: ['SELF', 'SELF'] },
    { sku: null, quantity: 1, reason: 'malformed-line', path: [] },
  ]);
  t.equal(result.itemsWeight, 2000);
  t.same(
    expand(linesOf({ not: 'a list' }), catalogue).problems,
    [{ sku: null, quantity: null, reason: 'malformed-line', path: [] }],
    'items that are not a list',
  );
});

t.test('nesting deeper than the limit, and quantities that multiply past a million, are named, not followed', async (t) => {
  const chain = new Map<string, CatalogueProduct>();
  for (let i = 0; i <= MAX_SET_DEPTH + 1; i++)
    chain.set(sku(i), {
      sku: sku(i),
      name: `L${i}`,
      weight: 1,
      barcode: null,
      set: i <= MAX_SET_DEPTH ? [{ id: sku(i + 1), quantity: 10 }] : null,
    });
  const deep = expand([{ sku: sku(0), quantity: 1, name: null }], chain);
  t.same(deep.items, []);
  t.same(
    deep.problems.map((p) => p.reason),
    ['too-many'],
    'ten levels of ten: ten billion pieces',
  );
  for (const product of chain.values())
    if (Array.isArray(product.set)) product.set = [{ id: (product.set[0] as { id: string }).id, quantity: 1 }];
  t.same(
    expand([{ sku: sku(0), quantity: 1, name: null }], chain).problems.map((p) => [p.reason, p.path.length]),
    [['too-deep', MAX_SET_DEPTH + 2]],
  );
});
