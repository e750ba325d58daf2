/**
 * The packing list of an order: every line expanded into the components the storekeeper picks and
 * scans (a set, "Набір «Сімейний»", into its dishes, recursively), with the expected weight of the
 * parcel computed from that same expansion. As the old back office expanded sets
 * (expandService.ts, orderAssemblyUtils.ts), with what it did in silence named instead: a set that
 * contains itself, a component not in the catalogue, a product without a weight. The old one
 * counted those as one portion of 0 kg, or as 420/330 g by category; here each is a named problem
 * and left out of the weight, never guessed.
 */
import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { boxSettings, orders, products } from '../db/schema.js';
import { HttpError } from '../errors.js';
import { fieldOf } from '../field-of.js';
import { readShopSettings } from '../settings/shop.js';
import { planFor } from './boxes.js';
import { centikilograms, MAX_PORTIONS } from './plan.js';

/** Deeper than this is a catalogue error, not a real set (the old back office stopped at 10 too). */
export const MAX_SET_DEPTH = 10;
/** A picked quantity beyond this is a catalogue error (sets of sets multiplying), not a parcel. */
export const MAX_PICK_QUANTITY = 1_000_000;

export const PROBLEM_REASONS = ['malformed-line', 'no-product', 'no-weight', 'set-cycle', 'malformed-set', 'too-deep', 'too-many'] as const;
export type ProblemReason = (typeof PROBLEM_REASONS)[number];

/** What the expansion reads of a product. `set`: as stored, [{id: component SKU, quantity}] or null. */
export interface CatalogueProduct {
  sku: string;
  name: string;
  weight: number | null;
  barcode: string | null;
  set: unknown;
}

export interface OrderLine {
  sku: string | null;
  quantity: number | null;
  name: string | null;
}

export interface PickLine {
  sku: string;
  name: string;
  quantity: number;
  unit: 'pcs';
  barcode: string | null;
  /** Grams of one piece; null when the product has none (then named in problems). */
  weight: number | null;
  /** quantity × weight, grams; null without a weight. */
  lineWeight: number | null;
  /** The order lines' SKUs this component comes from (its own SKU when ordered as it is). */
  from: string[];
}

export interface Problem {
  /** The SKU the problem is about (null for a line without one). */
  sku: string | null;
  /** How many pieces of it the order needs (null when unknown). */
  quantity: number | null;
  reason: ProblemReason;
  /** From the order line down to the SKU: the sets it sits in. */
  path: string[];
}

export interface Expansion {
  items: PickLine[];
  /** Σ lineWeight, grams, over the components that have a weight. */
  itemsWeight: number;
  problems: Problem[];
}

/** A set's components as stored, or null when `set` is not a list of {id, quantity}. */
function componentsOf(set: unknown): { sku: string; quantity: number }[] | null {
  if (!Array.isArray(set)) return null;
  const components: { sku: string; quantity: number }[] = [];
  for (const entry of set) {
    const id = fieldOf(entry, 'id');
    const quantity = fieldOf(entry, 'quantity');
    if (typeof id !== 'string' || id.trim() === '' || typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1)
      return null;
    components.push({ sku: id.trim(), quantity });
  }
  return components;
}

/** A product that is a set: `set` holds something (an empty list or null is a plain product, as the old back office read it). */
const isSet = (product: CatalogueProduct) =>
  product.set !== null && product.set !== undefined && !(Array.isArray(product.set) && product.set.length === 0);

/** The SKUs a set names, whatever else is wrong with it (to load them in the same round). */
export function componentSkusOf(set: unknown): string[] {
  if (!Array.isArray(set)) return [];
  return set.flatMap((entry) => {
    const id = fieldOf(entry, 'id');
    return typeof id === 'string' && id.trim() !== '' ? [id.trim()] : [];
  });
}

/**
 * Expands the order's lines against the catalogue (the products by SKU). Pure: the same lines and
 * catalogue give the same list. Components reached through several lines or sets are one pick line,
 * in the order first reached.
 */
export function expand(lines: OrderLine[], catalogue: ReadonlyMap<string, CatalogueProduct>): Expansion {
  const picks = new Map<string, PickLine>();
  const problems: Problem[] = [];
  const unweighed = new Map<string, Problem>();

  function visit(sku: string, quantity: number, path: string[], origin: string) {
    if (path.includes(sku)) return problems.push({ sku, quantity, reason: 'set-cycle', path: [...path, sku] });
    if (path.length > MAX_SET_DEPTH) return problems.push({ sku, quantity, reason: 'too-deep', path: [...path, sku] });
    if (quantity > MAX_PICK_QUANTITY) return problems.push({ sku, quantity, reason: 'too-many', path: [...path, sku] });
    const product = catalogue.get(sku);
    if (!product) return problems.push({ sku, quantity, reason: 'no-product', path: [...path, sku] });
    if (isSet(product)) {
      const components = componentsOf(product.set);
      if (!components) return problems.push({ sku, quantity, reason: 'malformed-set', path: [...path, sku] });
      for (const component of components) visit(component.sku, quantity * component.quantity, [...path, sku], origin);
      return;
    }
    let pick = picks.get(sku);
    if (!pick) {
      pick = {
        sku,
        name: product.name,
        quantity: 0,
        unit: 'pcs',
        barcode: product.barcode,
        weight: product.weight,
        lineWeight: null,
        from: [],
      };
      picks.set(sku, pick);
      // named where it is first met, its quantity the whole of it
      if (pick.weight === null) unweighed.set(sku, problems[problems.push({ sku, quantity: 0, reason: 'no-weight', path: [] }) - 1]!);
    }
    pick.quantity += quantity;
    const noWeight = unweighed.get(sku);
    if (noWeight) noWeight.quantity = (noWeight.quantity ?? 0) + quantity;
    if (!pick.from.includes(origin)) pick.from.push(origin);
  }

  for (const line of lines) {
    if (line.sku === null || line.quantity === null)
      problems.push({ sku: line.sku, quantity: line.quantity, reason: 'malformed-line', path: [] });
    else if (line.quantity > 0) visit(line.sku, line.quantity, [], line.sku);
  }

  let itemsWeight = 0;
  const items = [...picks.values()];
  for (const pick of items) {
    if (pick.weight === null) continue;
    pick.lineWeight = pick.quantity * pick.weight;
    itemsWeight += pick.lineWeight;
  }
  return { items, itemsWeight, problems };
}

/** The order's lines as stored (legacy rows may hold other shapes: such a line is reported, not guessed). */
export function linesOf(items: unknown): OrderLine[] {
  if (!Array.isArray(items)) return [{ sku: null, quantity: null, name: null }];
  return items.map((item: unknown) => {
    const sku = fieldOf(item, 'sku');
    const quantity = fieldOf(item, 'quantity');
    const name = fieldOf(item, 'productName');
    return {
      sku: typeof sku === 'string' && sku.trim() !== '' ? sku.trim() : null,
      quantity: typeof quantity === 'number' && Number.isInteger(quantity) && quantity >= 0 ? quantity : null,
      name: typeof name === 'string' ? name : null,
    };
  });
}

/** The products the lines need, with every component of every set among them, loaded level by level. */
export async function loadCatalogue(db: Db, lines: OrderLine[]): Promise<Map<string, CatalogueProduct>> {
  const catalogue = new Map<string, CatalogueProduct>();
  const asked = new Set<string>();
  let wanted = [...new Set(lines.flatMap((line) => (line.sku ? [line.sku] : [])))];
  // one query per level of nesting; a cycle ends it, as every SKU is asked once
  for (let depth = 0; wanted.length && depth <= MAX_SET_DEPTH + 1; depth++) {
    for (const sku of wanted) asked.add(sku);
    const rows = await db
      .select({ sku: products.sku, name: products.name, weight: products.weight, barcode: products.barcode, set: products.set })
      .from(products)
      .where(inArray(products.sku, wanted));
    for (const row of rows) catalogue.set(row.sku, row);
    wanted = [...new Set(rows.flatMap((row) => componentSkusOf(row.set)))].filter((sku) => !asked.has(sku));
  }
  return catalogue;
}

export interface UsedBoxes {
  id: number;
  marking: string;
  barcode: string | null;
  count: number;
  centikilograms: number;
}

/** The boxes named by ?boxes=id:count,… (any box, active or not: it is what was used), else the spacious plan. */
export async function boxesFor(db: Db, text: string | undefined, quantity: number): Promise<UsedBoxes[]> {
  if (text === undefined) {
    if (quantity === 0) return [];
    if (quantity > MAX_PORTIONS)
      throw new HttpError(
        409,
        'TOO_MANY_PORTIONS',
        `The order has ${quantity} portions, more than a plan is made for (${MAX_PORTIONS}): name the boxes (boxes=id:count,…)`,
      );
    const plan = await planFor(db, quantity, 'spacious');
    const rows = await db
      .select({ id: boxSettings.id, selfWeight: boxSettings.selfWeight, barcode: boxSettings.barcode })
      .from(boxSettings)
      .where(
        inArray(
          boxSettings.id,
          plan.boxes.map((b) => b.id),
        ),
      );
    return plan.boxes.map(({ id, marking, count }) => {
      const row = rows.find((r) => r.id === id)!;
      return { id, marking, count, barcode: row.barcode, centikilograms: centikilograms(row.selfWeight) };
    });
  }
  const counts = new Map<number, number>();
  for (const pair of text.split(',')) {
    const [id, n] = pair.split(':').map(Number);
    if (id !== undefined && n !== undefined) counts.set(id, (counts.get(id) ?? 0) + n); // always both: the pattern requires them
  }
  const ids = [...counts.keys()];
  const rows = await db
    .select({ id: boxSettings.id, marking: boxSettings.marking, selfWeight: boxSettings.selfWeight, barcode: boxSettings.barcode })
    .from(boxSettings)
    .where(inArray(boxSettings.id, ids));
  const unknown = ids.filter((id) => !rows.some((r) => r.id === id));
  if (unknown.length) throw new HttpError(400, 'UNKNOWN_BOX', `querystring.boxes names boxes that do not exist: ${unknown.join(', ')}`);
  return ids.map((id) => {
    const box = rows.find((r) => r.id === id)!;
    return { id, marking: box.marking, barcode: box.barcode, count: counts.get(id)!, centikilograms: centikilograms(box.selfWeight) };
  });
}

/** The ?boxes= of the weight and packing-list routes. */
export const BOXES_PATTERN = '^[0-9]{1,9}:[0-9]{1,4}(,[0-9]{1,9}:[0-9]{1,4}){0,19}$';

/** Order `id`'s packing list and the weight its parcel should have, within the shop's tolerance; undefined when there is no such order. */
export async function packingListOf(db: Db, id: string, boxesText: string | undefined) {
  const [order] = await db.select({ items: orders.items, quantity: orders.quantity }).from(orders).where(eq(orders.id, id));
  if (!order) return undefined;
  const lines = linesOf(order.items);
  const [catalogue, boxes, settings] = await Promise.all([
    loadCatalogue(db, lines),
    boxesFor(db, boxesText, order.quantity),
    readShopSettings(db),
  ]);
  const { items, itemsWeight, problems } = expand(lines, catalogue);
  const boxesWeight = boxes.reduce((sum, b) => sum + b.count * b.centikilograms * 10, 0);
  const expectedWeight = itemsWeight + boxesWeight;
  // percent as hundredths, so that the share is exact before it is rounded to the gram
  const share = Math.round((expectedWeight * centikilograms(settings.weightTolerancePercent)) / 10_000);
  const allowed = Math.max(share, settings.weightToleranceGrams);
  return {
    items,
    problems,
    weight: {
      expectedWeight,
      min: Math.max(0, expectedWeight - allowed),
      max: expectedWeight + allowed,
      unit: 'g' as const,
      itemsWeight,
      boxesWeight,
      boxes: boxes.map(({ id, marking, barcode, count }) => ({ id, marking, barcode, count })),
      tolerance: { percent: settings.weightTolerancePercent, grams: settings.weightToleranceGrams, allowed },
    },
  };
}
