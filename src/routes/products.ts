/** /api/v1/products: the catalogue as Dilovod keeps it; also look-up by SKU. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eq, ilike, or } from 'drizzle-orm';
import { Type } from 'typebox';
import { products } from '../db/schema.js';
import { registerCrud } from './crud.js';
import { Barcode, containing, Money, Name, Nullable, optional, SerialIdParams, Strict, Text, Timestamp } from '../schemas.js';

/** A product as Dilovod sends it: the create example, and the read example's fields. */
const NEW_PRODUCT = {
  sku: '02001',
  name: 'Вареники з вишнею',
  costPerItem: '128.50',
  currency: 'UAH',
  categoryId: 2,
  categoryName: 'Другі страви',
  additionalPrices: [{ priceType: 'Оптова', priceValue: 112 }],
  stockBalanceByStock: { '1': 40, '2': 12 },
  dilovodId: '1100300000201',
  weight: 500,
  barcode: '4820001230201',
};

const Product = Type.Object(
  {
    id: Type.Integer(),
    sku: Type.String(),
    name: Type.String(),
    costPerItem: Nullable(Type.String({ description: 'decimal string' })),
    currency: Type.String(),
    categoryId: Nullable(Type.Integer()),
    categoryName: Nullable(Type.String()),
    set: Type.Unknown({ description: 'the components of a set: [{id, quantity}]' }),
    additionalPrices: Type.Unknown({ description: '[{priceType, priceValue}]' }),
    stockBalanceByStock: Type.Unknown({ description: '{stockId: quantity}' }),
    dilovodId: Nullable(Type.String()),
    parent: Nullable(Type.String()),
    weight: Nullable(Type.Integer({ description: "grams; the shop's own, never written by the Dilovod sync" })),
    barcode: Nullable(Type.String({ description: "what the packing station scans (Dilovod's barCodes)" })),
    outdatedAt: Nullable(
      Type.String({ format: 'date-time', description: 'when a complete Dilovod sync found it gone from Dilovod; null while it is there' }),
    ),
    lastSyncAt: Timestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  {
    $id: 'Product',
    title: 'Product',
    examples: [
      {
        id: 121,
        ...NEW_PRODUCT,
        set: null,
        parent: null,
        outdatedAt: null,
        lastSyncAt: '2026-11-30T03:00:01.000Z',
        createdAt: '2026-11-30T03:00:01.000Z',
        updatedAt: '2026-11-30T03:00:01.000Z',
      },
    ],
  },
);

const Sku = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^/?#\\s]+$' });
const editable = {
  name: Name(300),
  costPerItem: Nullable(Money),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  categoryId: Nullable(Type.Integer({ minimum: 0, maximum: 2147483647 })),
  categoryName: Nullable(Text(200)),
  set: Nullable(Type.Array(Strict({ id: Name(100), quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }), { maxItems: 100 })),
  additionalPrices: Nullable(
    Type.Array(Strict({ priceType: Name(100), priceValue: Type.Number({ minimum: 0, maximum: 1e9 }) }), { maxItems: 50 }),
  ),
  stockBalanceByStock: Nullable(Type.Record(Type.String({ maxLength: 50 }), Type.Number({ minimum: -1e9, maximum: 1e9 }))),
  dilovodId: Nullable(Text(100)),
  parent: Nullable(Text(100)),
  weight: Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  barcode: Nullable(Barcode),
  lastSyncAt: Timestamp,
};
const { name, ...rest } = editable;

const productsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerCrud(app, {
    prefix: '/products',
    resource: 'products',
    noun: 'Product',
    tag: 'products',
    table: products,
    idColumn: products.id,
    idParams: SerialIdParams,
    item: Product,
    readBy: [{ path: 'by-sku', param: 'sku', schema: Sku, column: products.sku, summary: 'Read one product by SKU' }],
    createBody: Strict(
      { sku: Sku, name, ...optional(rest) },
      {
        examples: [NEW_PRODUCT],
      },
    ),
    // a new price from Dilovod, and what is left in stock 1 after the morning's orders
    updateBody: Strict(optional({ sku: Sku, ...editable }), {
      minProperties: 1,
      examples: [{ costPerItem: '132.00', stockBalanceByStock: { '1': 36, '2': 12 } }],
    }),
    list: {
      filters: {
        q: Type.String({ minLength: 1, maxLength: 100, description: 'name or SKU contains this, ignoring case' }),
        categoryName: Text(200),
      },
      where: (q) => {
        const pattern = q.q ? containing(q.q) : undefined;
        return [
          pattern ? or(ilike(products.name, pattern), ilike(products.sku, pattern)) : undefined,
          q.categoryName ? eq(products.categoryName, q.categoryName) : undefined,
        ];
      },
      sorts: { id: products.id, lastSyncAt: products.lastSyncAt, name: products.name, sku: products.sku },
      defaultSort: 'id',
    },
  });
};

export default productsRoutes;
