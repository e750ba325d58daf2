/**
 * What a complete read of Dilovod's catalogue changes here, and applying it: upsert by SKU of the
 * fields the sync owns (never weight, the shop's own; never the shop's category id), products gone
 * from Dilovod marked outdated (never deleted: orders name them). Only after a complete successful
 * read, in one transaction; and a run that would mark outdated, or leave without a price, more than
 * a set share of the catalogue stops instead of applying (a partial answer from Dilovod looks like
 * that), unless an admin asked for it explicitly.
 */
import { isDeepStrictEqual } from 'node:util';
import { and, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { products } from '../db/schema.js';
import type { SyncedProduct } from './from-dilovod.js';

export interface SyncPlan {
  created: SyncedProduct[];
  changed: { id: number; product: SyncedProduct }[];
  unchanged: number;
  /** Products from Dilovod (with a dilovodId) that it no longer has. */
  outdated: { id: number; sku: string }[];
  /** Products whose price would go from more than 0 to none or 0. */
  zeroed: string[];
  /** The catalogue from Dilovod as it stands: products with a dilovodId, not outdated. */
  current: number;
}

const OWNED = ['name', 'costPerItem', 'additionalPrices', 'categoryName', 'dilovodId', 'parent', 'set', 'barcode'] as const;
type Owned = Pick<SyncedProduct, (typeof OWNED)[number]>;
/** The fields the sync owns, of a product read from Dilovod or of a row here. */
const owned = <T extends Record<(typeof OWNED)[number], unknown>>(p: T): Pick<T, (typeof OWNED)[number]> =>
  Object.fromEntries(OWNED.map((key) => [key, p[key]])) as Pick<T, (typeof OWNED)[number]>; // cast: fromEntries loses the keys it was given

const priced = (cost: string | null) => cost !== null && Number(cost) > 0;

export async function planSync(db: Db | Tx, fetched: SyncedProduct[]): Promise<SyncPlan> {
  const existing = await db
    .select({
      id: products.id,
      sku: products.sku,
      outdatedAt: products.outdatedAt,
      name: products.name,
      costPerItem: products.costPerItem,
      additionalPrices: products.additionalPrices,
      categoryName: products.categoryName,
      dilovodId: products.dilovodId,
      parent: products.parent,
      set: products.set,
      barcode: products.barcode,
    })
    .from(products);
  const bySku = new Map(existing.map((row) => [row.sku, row]));
  const plan: SyncPlan = { created: [], changed: [], unchanged: 0, outdated: [], zeroed: [], current: 0 };
  const seen = new Set<string>();
  for (const product of fetched) {
    seen.add(product.sku);
    const row = bySku.get(product.sku);
    if (!row) {
      plan.created.push(product);
      continue;
    }
    // deep equality whatever the key order (jsonb hands objects back in its own)
    if (row.outdatedAt === null && isDeepStrictEqual(owned(row), owned<Owned>(product))) {
      plan.unchanged++;
      continue;
    }
    plan.changed.push({ id: row.id, product });
    if (priced(row.costPerItem) && !priced(product.costPerItem)) plan.zeroed.push(product.sku);
  }
  for (const row of existing) {
    if (row.dilovodId === null || row.outdatedAt !== null) continue;
    plan.current++;
    if (!seen.has(row.sku)) plan.outdated.push({ id: row.id, sku: row.sku });
  }
  return plan;
}

/** Why the plan is not applied (it takes too much of the catalogue away), or undefined when it may be. */
export function refusal(plan: SyncPlan, maxShare: number): string | undefined {
  if (plan.current === 0) return undefined; // the first sync: nothing to take away
  const taken = plan.outdated.length + plan.zeroed.length;
  const share = (taken * 100) / plan.current;
  if (share <= maxShare) return undefined;
  const examples = (skus: string[]) => (skus.length ? ` (${skus.slice(0, 10).join(', ')}${skus.length > 10 ? ', …' : ''})` : '');
  return (
    `Refused: this run would mark ${plan.outdated.length} of the ${plan.current} products from Dilovod outdated${examples(plan.outdated.map((p) => p.sku))} ` +
    `and leave ${plan.zeroed.length} without a price${examples(plan.zeroed)}: ${share.toFixed(1)} % of the catalogue, more than DILOVOD_MAX_CHANGE_SHARE (${maxShare} %). ` +
    'Nothing was applied. If Dilovod really lost them, check it there; to apply this run anyway, POST /api/v1/products/sync?allowLargeChange=true.'
  );
}

/** Writes the plan, in the caller's transaction. */
export async function applySync(tx: Tx, plan: SyncPlan, now: Date): Promise<void> {
  for (let i = 0; i < plan.created.length; i += 500) {
    await tx
      .insert(products)
      .values(
        plan.created.slice(i, i + 500).map((p): typeof products.$inferInsert => ({ sku: p.sku, ...owned<Owned>(p), lastSyncAt: now })),
      );
  }
  for (const { id, product } of plan.changed) {
    await tx
      .update(products)
      .set({ ...owned<Owned>(product), outdatedAt: null, lastSyncAt: now })
      .where(eq(products.id, id));
  }
  if (plan.outdated.length) {
    await tx
      .update(products)
      .set({ outdatedAt: now })
      .where(
        and(
          inArray(
            products.id,
            plan.outdated.map((p) => p.id),
          ),
          isNull(products.outdatedAt),
          isNotNull(products.dilovodId),
        ),
      );
  }
}
