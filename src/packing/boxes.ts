/** The boxes as packing reads them: the active ones a plan is made from, and the single boxes that take N portions. */
import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { boxSettings } from '../db/schema.js';
import { HttpError } from '../errors.js';
import { packingPlan, type PackingMode } from './plan.js';

/** The active boxes as a plan needs them, by id. */
export async function activeBoxes(db: Db) {
  return db
    .select({
      id: boxSettings.id,
      marking: boxSettings.marking,
      qntFrom: boxSettings.qntFrom,
      qntTo: boxSettings.qntTo,
      overflow: boxSettings.overflow,
      selfWeight: boxSettings.selfWeight,
    })
    .from(boxSettings)
    .where(eq(boxSettings.isActive, true))
    .orderBy(asc(boxSettings.id));
}

/** The plan for N portions from the active boxes; 409 when no active box holds a portion. */
export async function planFor(db: Db, portions: number, mode: PackingMode) {
  const plan = packingPlan(await activeBoxes(db), portions, mode);
  if (!plan) throw new HttpError(409, 'NO_ACTIVE_BOX', 'No active box holds a portion: activate or create one (box-settings)');
  return plan;
}

/** The active boxes that take N portions on their own (qntFrom ≤ N ≤ qntTo + overflow), smallest first. */
export function boxesTaking(db: Db, columns: Record<string, PgColumn>, portions: number) {
  return db
    .select(columns)
    .from(boxSettings)
    .where(
      and(
        eq(boxSettings.isActive, true),
        lte(boxSettings.qntFrom, portions),
        gte(sql`${boxSettings.qntTo} + ${boxSettings.overflow}`, portions),
      ),
    )
    .orderBy(asc(boxSettings.qntTo), asc(boxSettings.weight), asc(boxSettings.id));
}
