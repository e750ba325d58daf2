/**
 * What a packed order should weigh: its items' product weights times their quantities, plus the
 * boxes' own weights, and the range the shop's tolerance accepts. A line whose product is unknown
 * or has no weight is named in `missing`, never counted as zero in silence.
 */
import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { boxSettings, orders, products } from '../db/schema.js';
import { HttpError } from '../errors.js';
import { fieldOf } from '../field-of.js';
import { readShopSettings } from '../settings/shop.js';
import { planFor } from './boxes.js';
import { centikilograms, MAX_PORTIONS } from './plan.js';

interface Line {
  sku: string | null;
  quantity: number | null;
}

/** The order's lines as stored (legacy rows may hold other shapes: such a line is reported, not guessed). */
function linesOf(items: unknown): Line[] {
  if (!Array.isArray(items)) return [{ sku: null, quantity: null }];
  return items.map((item: unknown) => {
    const sku = fieldOf(item, 'sku');
    const quantity = fieldOf(item, 'quantity');
    return {
      sku: typeof sku === 'string' && sku !== '' ? sku : null,
      quantity: typeof quantity === 'number' && Number.isInteger(quantity) && quantity >= 0 ? quantity : null,
    };
  });
}

/** The boxes named by ?boxes=id:count,… (any box, active or not: it is what was used), else the spacious plan. */
async function boxesFor(db: Db, text: string | undefined, quantity: number) {
  if (text === undefined) {
    if (quantity === 0) return [];
    if (quantity > MAX_PORTIONS) throw new HttpError(409, 'TOO_MANY_PORTIONS', `The order has ${quantity} portions, more than a plan is made for (${MAX_PORTIONS}): name the boxes (boxes=id:count,…)`);
    const plan = await planFor(db, quantity, 'spacious');
    const weights = await db.select({ id: boxSettings.id, selfWeight: boxSettings.selfWeight }).from(boxSettings).where(inArray(boxSettings.id, plan.boxes.map((b) => b.id)));
    return plan.boxes.map((b) => ({ ...b, centikilograms: centikilograms(weights.find((w) => w.id === b.id)!.selfWeight) }));
  }
  const counts = new Map<number, number>();
  for (const pair of text.split(',')) {
    const [id, n] = pair.split(':').map(Number);
    if (id !== undefined && n !== undefined) counts.set(id, (counts.get(id) ?? 0) + n); // always both: the pattern requires them
  }
  const ids = [...counts.keys()];
  const rows = await db.select({ id: boxSettings.id, marking: boxSettings.marking, selfWeight: boxSettings.selfWeight }).from(boxSettings).where(inArray(boxSettings.id, ids));
  const unknown = ids.filter((id) => !rows.some((r) => r.id === id));
  if (unknown.length) throw new HttpError(400, 'UNKNOWN_BOX', `querystring.boxes names boxes that do not exist: ${unknown.join(', ')}`);
  return ids.map((id) => {
    const box = rows.find((r) => r.id === id)!;
    return { id, marking: box.marking, count: counts.get(id)!, centikilograms: centikilograms(box.selfWeight) };
  });
}

export interface MissingLine extends Line {
  reason: 'no-product' | 'no-weight' | 'malformed-line';
}

/** The expected weight of order `id` packed in `boxes` (id:count,…; else the spacious plan); undefined when there is no such order. */
export async function expectedWeightOf(db: Db, id: string, boxesText: string | undefined) {
  const [order] = await db.select({ items: orders.items, quantity: orders.quantity }).from(orders).where(eq(orders.id, id));
  if (!order) return undefined;
  const lines = linesOf(order.items);
  const skus = [...new Set(lines.flatMap((l) => (l.sku ? [l.sku] : [])))];
  const [found, boxes, settings] = await Promise.all([
    skus.length ? db.select({ sku: products.sku, weight: products.weight }).from(products).where(inArray(products.sku, skus)) : [],
    boxesFor(db, boxesText, order.quantity),
    readShopSettings(db),
  ]);
  const weightOf = new Map(found.map((p) => [p.sku, p.weight]));
  const missing: MissingLine[] = [];
  let itemsWeight = 0;
  for (const line of lines) {
    if (line.sku === null || line.quantity === null) missing.push({ ...line, reason: 'malformed-line' });
    else if (!weightOf.has(line.sku)) missing.push({ ...line, reason: 'no-product' });
    else if (weightOf.get(line.sku) === null) missing.push({ ...line, reason: 'no-weight' });
    else itemsWeight += line.quantity * weightOf.get(line.sku)!;
  }
  const boxesWeight = boxes.reduce((sum, b) => sum + b.count * b.centikilograms * 10, 0);
  const expectedWeight = itemsWeight + boxesWeight;
  // percent as hundredths, so that the share is exact before it is rounded to the gram
  const share = Math.round((expectedWeight * centikilograms(settings.weightTolerancePercent)) / 10_000);
  const allowed = Math.max(share, settings.weightToleranceGrams);
  return {
    expectedWeight,
    min: Math.max(0, expectedWeight - allowed),
    max: expectedWeight + allowed,
    unit: 'g' as const,
    itemsWeight,
    boxesWeight,
    boxes: boxes.map(({ id, marking, count }) => ({ id, marking, count })),
    tolerance: { percent: settings.weightTolerancePercent, grams: settings.weightToleranceGrams, allowed },
    missing,
  };
}
