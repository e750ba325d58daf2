/**
 * The catalogue as Dilovod holds it, read the way the old back office read it
 * (DilovodService.getGoodsInfoWithSetsOptimized, DilovodDataProcessor) and mapped field for field:
 *
 * - goods from `catalogs.goods` (id, productNum as sku, parent, id__pr as name; the parent folder's
 *   name, `parent__pr`, is the category), those with an SKU being products;
 * - prices from the register `goodsPrices` (`sliceLast` at the current Kyiv time): the main price
 *   type's is the product's price (costPerItem), the other positive ones its additionalPrices;
 * - each set's components (goods in the set folders) from `getObject`: `tableParts.tpGoods`, each
 *   row a good and its qty, by SKU;
 * - barcodes from the register `barCodes` (`sliceLast`), 50 goods a call, the first code of each.
 *
 * Weight is not Dilovod's: nothing here reads or writes it. What the old code papered over stops the
 * read with a CatalogueError naming it (a component stored under its Dilovod id when no SKU was
 * found, one SKU on two goods, a price that is not money): a run is then failed, nothing applied.
 */
import type { DilovodClient, DilovodRow } from '../dilovod/client.js';
import { fieldOf } from '../field-of.js';

export interface CatalogueSettings {
  setParentIds: string[];
  mainPriceType: string;
}

/** A product as the sync writes it: every field it owns (never weight, never the shop's category id). */
export interface SyncedProduct {
  sku: string;
  name: string;
  /** Hryvnias, a decimal string with two places; null without a price of the main type. */
  costPerItem: string | null;
  additionalPrices: { priceType: string; priceValue: number }[] | null;
  categoryName: string | null;
  dilovodId: string;
  parent: string | null;
  set: { id: string; quantity: number }[] | null;
  barcode: string | null;
}

/** Dilovod's data cannot be taken as it is: the run stops, naming what is wrong. */
export class CatalogueError extends Error {}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '');

/** A price as exact money: at most two decimals that are not zero; anything else stops the read. */
export function money(value: unknown, what: string): string {
  const match = /^(\d{1,10})(?:\.(\d+))?$/.exec(text(value));
  if (!match || /[1-9]/.test((match[2] ?? '').slice(2)))
    throw new CatalogueError(`${what}: ${JSON.stringify(value)} is not an amount in hryvnias and kopecks`);
  return `${BigInt(match[1]!)}.${(match[2] ?? '').slice(0, 2).padEnd(2, '0')}`;
}

/** Now in Kyiv, as Dilovod's registers take a date ("2026-11-30 11:15:00"). */
const kyivNow = () => new Date().toLocaleString('sv-SE', { timeZone: 'Europe/Kyiv', hour12: false });

const chunks = <T>(items: T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Reads the whole catalogue. `progress` is called after each call to Dilovod (the run's heartbeat);
 * `signal` aborts the read (the service stopping).
 */
export async function readCatalogue(
  client: DilovodClient,
  settings: CatalogueSettings,
  signal: AbortSignal,
  progress: () => Promise<void>,
): Promise<SyncedProduct[]> {
  const goods = await client.request(
    { from: 'catalogs.goods', fields: { id: 'id', productNum: 'sku', parent: 'parent', id__pr: 'name' } },
    signal,
  );
  await progress();
  const prices = await client.request(
    {
      from: { type: 'sliceLast', register: 'goodsPrices', date: kyivNow() },
      fields: { good: 'id', 'good.productNum': 'sku', 'good.parent': 'parent', priceType: 'priceType', price: 'price' },
    },
    signal,
  );
  await progress();

  const byId = new Map<string, DilovodRow>();
  const skuOf = new Map<string, string>();
  const idOfSku = new Map<string, string>();
  for (const row of goods) {
    const id = text(row.id);
    if (!id) throw new CatalogueError(`catalogs.goods has a row without an id: ${JSON.stringify(row).slice(0, 200)}`);
    byId.set(id, row);
    const sku = text(row.sku);
    if (!sku) continue; // a folder, or a good not sold
    const other = idOfSku.get(sku);
    if (other !== undefined && other !== id)
      throw new CatalogueError(`SKU ${sku} is on two Dilovod goods (${other} and ${id}): give each its own productNum in Dilovod`);
    idOfSku.set(sku, id);
    skuOf.set(id, sku);
  }

  const pricesOf = new Map<string, DilovodRow[]>();
  for (const row of prices) {
    const id = text(row.id);
    if (skuOf.has(id)) pricesOf.set(id, [...(pricesOf.get(id) ?? []), row]);
  }

  const ids = [...skuOf.keys()];
  const barcodeOf = new Map<string, string>();
  for (const chunk of chunks(ids, 50)) {
    const rows = await client.request(
      {
        from: { type: 'sliceLast', register: 'barCodes' },
        fields: { id: 'id', object: 'object', code: 'code' },
        filters: [{ alias: 'object', operator: 'IL', value: chunk }],
      },
      signal,
    );
    await progress();
    for (const row of rows) {
      const [object, code] = [text(row.object), text(row.code)];
      if (object && code && !barcodeOf.has(object)) barcodeOf.set(object, code);
    }
  }

  const setParents = new Set(settings.setParentIds);
  const products: SyncedProduct[] = [];
  for (const id of ids) {
    const row = byId.get(id)!;
    const sku = skuOf.get(id)!;
    const parent = text(row.parent) || null;
    let costPerItem: string | null = null;
    const additionalPrices: SyncedProduct['additionalPrices'] = [];
    for (const price of pricesOf.get(id) ?? []) {
      const amount = money(price.price, `the price of ${sku} (goodsPrices, price type ${text(price.priceType)})`);
      if (text(price.priceType) === settings.mainPriceType) costPerItem = amount;
      else if (Number(amount) > 0)
        additionalPrices.push({ priceType: text(price.priceType__pr) || text(price.priceType), priceValue: Number(amount) });
    }
    const folder = parent ? byId.get(parent) : undefined;
    products.push({
      sku,
      name: text(row.name) || text(row.presentation) || sku,
      costPerItem,
      additionalPrices: additionalPrices.length ? additionalPrices : null,
      categoryName: text(row.parent__pr) || text(folder?.name) || null,
      dilovodId: id,
      parent,
      set: parent && setParents.has(parent) ? await componentsOf(client, id, sku, skuOf, signal, progress) : null,
      barcode: barcodeOf.get(id) ?? null,
    });
  }
  return products;
}

/** A set's components by SKU, from getObject's tableParts.tpGoods (an array, or an object of rows). */
async function componentsOf(
  client: DilovodClient,
  id: string,
  sku: string,
  skuOf: Map<string, string>,
  signal: AbortSignal,
  progress: () => Promise<void>,
): Promise<SyncedProduct['set']> {
  const object = await client.getObject(id, signal);
  await progress();
  const rows = fieldOf(object.tableParts, 'tpGoods');
  const list = Array.isArray(rows) ? rows : typeof rows === 'object' && rows !== null ? Object.values(rows) : [];
  const components: { id: string; quantity: number }[] = [];
  for (const row of list) {
    const good = text(fieldOf(row, 'good'));
    const qty = Number(text(fieldOf(row, 'qty')));
    if (!Number.isInteger(qty) || qty < 1)
      throw new CatalogueError(
        `set ${sku}: component ${good || '?'} has qty ${JSON.stringify(fieldOf(row, 'qty'))}, not a whole number of pieces`,
      );
    let componentSku = skuOf.get(good);
    if (!componentSku) {
      // not among the goods read: its own card says its SKU (the old client did the same)
      const card = await client.getObject(good, signal);
      await progress();
      componentSku = text(fieldOf(card.header, 'productNum')) || undefined;
    }
    if (!componentSku)
      throw new CatalogueError(
        `set ${sku}: component ${good} has no SKU in Dilovod (the old back office stored its Dilovod id instead): give it a productNum`,
      );
    components.push({ id: componentSku, quantity: qty });
  }
  // a good of a set folder without components is sold as it is
  return components.length ? components : null;
}
