/** GET /api/v1/orders/:id/packing-list: what the packing station picks, scans and weighs for one order, in one call. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../errors.js';
import { BOXES_PATTERN, MAX_SET_DEPTH, packingListOf, PROBLEM_REASONS } from '../packing/packing-list.js';
import { errorResponses, Nullable, OneOf, Strict, TextIdParams } from '../schemas.js';

const Grams = (description: string) => Type.Integer({ description: `${description}, grams` });

const PackingList = Type.Object(
  {
    orderId: Type.String(),
    items: Type.Array(
      Type.Object({
        sku: Type.String(),
        name: Type.String(),
        quantity: Type.Integer({ description: 'pieces to pick: the order line’s quantity times each set’s quantity on the way down' }),
        unit: Type.Literal('pcs'),
        barcode: Nullable(Type.String({ description: 'what the station scans; null: the product has none yet' })),
        weight: Nullable(Grams('one piece')),
        lineWeight: Nullable(Grams('quantity × weight')),
        from: Type.Array(Type.String(), {
          description: 'the order lines (SKUs) this component comes from: a set’s SKU, or its own when ordered as it is',
        }),
      }),
    ),
    problems: Type.Array(
      Type.Object({
        sku: Nullable(Type.String()),
        quantity: Nullable(Type.Integer()),
        reason: OneOf(PROBLEM_REASONS, {
          description:
            'malformed-line: an order line without SKU or quantity; no-product: no product has the SKU; no-weight: the product has no weight; ' +
            'set-cycle: a set that contains itself (path shows the loop); malformed-set: a set whose components are not [{id, quantity ≥ 1}]; ' +
            `too-deep: sets nested deeper than ${MAX_SET_DEPTH}; too-many: a quantity beyond a million pieces`,
        }),
        path: Type.Array(Type.String(), { description: 'from the order line down to the SKU, through the sets it sits in' }),
      }),
      { description: 'what could not be expanded or weighed, each left out of the weight and named, never counted as zero in silence' },
    ),
    complete: Type.Boolean({ description: 'no problems: every piece is listed and weighed' }),
    expectedWeight: Grams('items plus the boxes’ own weight'),
    min: Grams('the lightest parcel the tolerance accepts'),
    max: Grams('the heaviest parcel the tolerance accepts'),
    unit: Type.Literal('g'),
    itemsWeight: Grams('Σ lineWeight'),
    boxesWeight: Grams('Σ count × box selfWeight'),
    boxes: Type.Array(Type.Object({ id: Type.Integer(), marking: Type.String(), barcode: Nullable(Type.String()), count: Type.Integer() })),
    tolerance: Type.Object({ percent: Type.String(), grams: Type.Integer(), allowed: Grams('the larger of the two') }),
  },
  {
    examples: [
      {
        orderId: '123457',
        items: [
          {
            sku: '01001',
            name: 'Вареники з картоплею',
            quantity: 3,
            unit: 'pcs',
            barcode: '4820001230019',
            weight: 400,
            lineWeight: 1200,
            from: ['01001', '03010'],
          },
          {
            sku: '01005',
            name: 'Суп грибний',
            quantity: 2,
            unit: 'pcs',
            barcode: '4820001230057',
            weight: 450,
            lineWeight: 900,
            from: ['03010'],
          },
        ],
        problems: [],
        complete: true,
        expectedWeight: 2400,
        min: 2280,
        max: 2520,
        unit: 'g',
        itemsWeight: 2100,
        boxesWeight: 300,
        boxes: [{ id: 8, marking: 'S3', barcode: '4820001234564', count: 1 }],
        tolerance: { percent: '5.00', grams: 50, allowed: 120 },
      },
    ],
  },
);

const packingListRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/orders/:id/packing-list',
    {
      schema: {
        tags: ['orders'],
        summary: 'The packing list: every line expanded into the components to pick and scan, and the weight the parcel should have',
        description:
          'Sets (products whose set lists components) are expanded recursively; a component reached through several lines or sets ' +
          'is one line with the quantities added up. The weight is computed from this same list, as GET /orders/:id/expected-weight ' +
          'gives it, with the boxes given (boxes=id:count,…) or the spacious plan for the order’s quantity.',
        params: TextIdParams,
        querystring: Strict({
          boxes: Type.Optional(Type.String({ pattern: BOXES_PATTERN, description: 'the boxes used, as id:count pairs, e.g. 12:1,8:1' })),
        }),
        response: { ...errorResponses, 200: PackingList },
      },
      config: { access: { resource: 'orders', action: 'read' } },
    },
    async (request) => {
      const list = await packingListOf(app.db, request.params.id, request.query.boxes);
      if (!list) throw notFound('Order');
      const { items, problems, weight } = list;
      return { orderId: request.params.id, items, problems, complete: problems.length === 0, ...weight };
    },
  );
};

export default packingListRoutes;
