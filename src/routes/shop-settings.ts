/**
 * /api/v1/shop-settings: the shop's settings, one row that an admin changes (the weight check's
 * tolerance). Read with an ETag; a PATCH with a stale If-Match gets 412, as for every resource.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { readShopSettings, updateShopSettings } from '../settings/shop.js';
import { assertIfMatch, withEtag } from './crud.js';
import { errorResponses, IfMatchHeaders, Nullable, Strict, Timestamp } from '../schemas.js';

const ShopSettings = Type.Object(
  {
    weightTolerancePercent: Type.String({
      description: 'a parcel may differ from its expected weight by this share of it, %, decimal string',
    }),
    weightToleranceGrams: Type.Integer({ description: '… or by this many grams, whichever is larger' }),
    updatedAt: Nullable(Timestamp),
  },
  {
    $id: 'ShopSettings',
    title: 'Shop settings',
    examples: [{ weightTolerancePercent: '5.00', weightToleranceGrams: 50, updatedAt: '2026-11-30T08:00:00.000Z' }],
  },
);
export type ShopSettingsRow = Static<typeof ShopSettings>;

const UpdateShopSettings = Strict(
  {
    weightTolerancePercent: Type.Optional(
      Type.String({ pattern: '^(100(\\.0{1,2})?|\\d{1,2}(\\.\\d{1,2})?)$', description: '0 to 100, decimal string' }),
    ),
    weightToleranceGrams: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  },
  // scales at the packing station read a little heavy in winter: a wider margin
  { minProperties: 1, examples: [{ weightTolerancePercent: '3.50', weightToleranceGrams: 80 }] },
);

const shopSettingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/shop-settings',
    {
      schema: {
        tags: ['shop-settings'],
        summary: "The shop's settings: the weight check's tolerance",
        response: { ...errorResponses, 200: ShopSettings },
      },
      config: { access: { resource: 'shopSettings', action: 'read' } },
    },
    async (_request, reply) => withEtag(reply, await readShopSettings(app.db)),
  );

  app.patch(
    '/shop-settings',
    {
      schema: {
        tags: ['shop-settings'],
        summary: "Change the shop's settings",
        headers: IfMatchHeaders,
        body: UpdateShopSettings,
        response: { ...errorResponses, 200: ShopSettings },
      },
      config: { access: { resource: 'shopSettings', action: 'update' } },
    },
    async (request, reply) => {
      const row = await updateShopSettings(app.db, request.body, (before) => assertIfMatch(request, before));
      return withEtag(reply, row);
    },
  );
};

export default shopSettingsRoutes;
