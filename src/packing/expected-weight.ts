/**
 * What a packed order should weigh: the weight of its packing list (sets expanded into their
 * components, packing-list.ts), plus the boxes' own weights, and the range the shop's tolerance
 * accepts. What cannot be weighed is named in `missing`, never counted as zero in silence.
 */
import type { Db } from '../db/client.js';
import { packingListOf } from './packing-list.js';

/** The expected weight of order `id` packed in `boxes` (id:count,…; else the spacious plan); undefined when there is no such order. */
export async function expectedWeightOf(db: Db, id: string, boxesText: string | undefined) {
  const list = await packingListOf(db, id, boxesText);
  if (!list) return undefined;
  return { ...list.weight, missing: list.problems.map(({ sku, quantity, reason }) => ({ sku, quantity, reason })) };
}
