/** The shop's settings: one row (id 1) that an admin changes, the weight check's tolerance. */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { shopSettings } from '../db/schema.js';

const columns = {
  weightTolerancePercent: shopSettings.weightTolerancePercent,
  weightToleranceGrams: shopSettings.weightToleranceGrams,
  updatedAt: shopSettings.updatedAt,
};

/** The settings row (the migration creates it; were it deleted by hand, the defaults are written back). */
export async function readShopSettings(db: Db) {
  const [row] = await db.select(columns).from(shopSettings).where(eq(shopSettings.id, 1));
  if (row) return row;
  const [created] = await db.insert(shopSettings).values({ id: 1 }).onConflictDoNothing().returning(columns);
  return created ?? (await db.select(columns).from(shopSettings).where(eq(shopSettings.id, 1)))[0]!;
}

export type ShopSettingsChange = Partial<Pick<typeof shopSettings.$inferInsert, 'weightTolerancePercent' | 'weightToleranceGrams'>>;

/** Changes the row in one transaction, the row locked; `check` sees it first (a stale If-Match throws there). */
export async function updateShopSettings(
  db: Db,
  change: ShopSettingsChange,
  check: (before: Awaited<ReturnType<typeof readShopSettings>>) => void,
) {
  await readShopSettings(db);
  return db.transaction(async (tx) => {
    const [before] = await tx.select(columns).from(shopSettings).where(eq(shopSettings.id, 1)).for('update');
    check(before!);
    const [after] = await tx.update(shopSettings).set(change).where(eq(shopSettings.id, 1)).returning(columns);
    return after!;
  });
}
