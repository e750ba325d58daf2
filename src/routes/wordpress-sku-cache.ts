/** /api/v1/wordpress-sku-cache: the SKUs the WordPress storefront sells, as last fetched. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { wordpressSkuCache } from '../db/schema.js';
import { registerCrud } from './crud.js';
import { optional, SerialIdParams, Strict, Timestamp } from '../schemas.js';

const SkuCache = Type.Object(
  {
    id: Type.Integer(),
    skus: Type.Unknown({ description: 'array of SKU strings' }),
    lastUpdated: Timestamp,
    totalCount: Type.Integer(),
  },
  {
    $id: 'WordPressSkuCache',
    title: 'WordPress SKU cache',
    examples: [{ id: 2, skus: ['01001', '01002', '01098', '02001'], lastUpdated: '2026-11-30T06:00:00.000Z', totalCount: 4 }],
  },
);

const editable = {
  skus: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100_000 }),
  lastUpdated: Timestamp,
  totalCount: Type.Integer({ minimum: 0, maximum: 100_000 }),
};

const wordpressSkuCacheRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerCrud(app, {
    prefix: '/wordpress-sku-cache',
    resource: 'wordpressSkuCache',
    noun: 'SKU cache',
    tag: 'wordpress-sku-cache',
    table: wordpressSkuCache,
    idColumn: wordpressSkuCache.id,
    idParams: SerialIdParams,
    item: SkuCache,
    // totalCount follows the list unless given
    createBody: Strict(
      { skus: editable.skus, ...optional({ lastUpdated: editable.lastUpdated, totalCount: editable.totalCount }) },
      { examples: [{ skus: ['01001', '01002', '01098', '02001'] }] },
    ),
    // the storefront stopped selling 01002
    updateBody: Strict(optional(editable), { minProperties: 1, examples: [{ skus: ['01001', '01098', '02001'] }] }),
    toInsert: (body) => ({ totalCount: body.skus.length, ...body }),
    toUpdate: (body) => (body.skus && body.totalCount === undefined ? { ...body, totalCount: body.skus.length } : body),
    list: { filters: {}, where: () => [], sorts: { id: wordpressSkuCache.id }, defaultSort: 'id' },
  });
};

export default wordpressSkuCacheRoutes;
