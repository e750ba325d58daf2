/** /api/v1/box-settings: the boxes orders are packed in, and which box takes N portions. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eq } from 'drizzle-orm';
import { Type } from 'typebox';
import { boxSettings } from '../db/schema.js';
import { publicColumns } from '../db/pages.js';
import { boxesTaking, planFor } from '../packing/boxes.js';
import { DEFAULT_PACKING_MODE, MAX_PORTIONS, PACKING_MODES } from '../packing/plan.js';
import { registerCrud } from './crud.js';
import { Barcode, errorResponses, Name, Nullable, OneOf, optional, SerialIdParams, Strict, Text, Timestamp } from '../schemas.js';

const exampleBox = {
  name: 'Коробка XXL',
  marking: 'XXL',
  qntFrom: 37,
  qntTo: 48,
  width: 60,
  height: 40,
  length: 30,
  overflow: 2,
  weight: '12.00',
  selfWeight: '1.20',
  description: 'Найбільша коробка для 37-48 порцій',
  barcode: '4820001234571',
  isActive: true,
};

const Box = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    marking: Type.String(),
    qntFrom: Type.Integer({ description: 'fewest portions' }),
    qntTo: Type.Integer({ description: 'most portions' }),
    width: Type.Integer(),
    height: Type.Integer(),
    length: Type.Integer(),
    overflow: Type.Integer({ description: 'portions it takes beyond qntTo at a pinch' }),
    weight: Type.String({ description: 'kg, decimal string' }),
    selfWeight: Type.String({ description: 'kg, decimal string' }),
    description: Nullable(Type.String()),
    barcode: Nullable(Type.String({ description: 'what the packing station scans on the box' })),
    isActive: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  {
    $id: 'BoxSettings',
    title: 'Box',
    examples: [{ id: 13, ...exampleBox, createdAt: '2026-11-30T08:00:00.000Z', updatedAt: '2026-11-30T08:00:00.000Z' }],
  },
);

const Portions = Type.Integer({ minimum: 0, maximum: 10_000 });
// a box that holds no portion is no box: no plan could use it
const MostPortions = Type.Integer({ minimum: 1, maximum: 10_000 });
const Centimetres = Type.Integer({ minimum: 1, maximum: 10_000 });
const Kilograms = Type.String({ pattern: '^\\d{1,8}(\\.\\d{1,2})?$', description: 'kg, decimal string' });
const editable = {
  name: Name(200),
  marking: Name(50),
  qntFrom: Portions,
  qntTo: MostPortions,
  width: Centimetres,
  height: Centimetres,
  length: Centimetres,
  overflow: Portions,
  weight: Kilograms,
  selfWeight: Kilograms,
  description: Nullable(Text(1000)),
  barcode: Nullable(Barcode),
  isActive: Type.Boolean(),
};
const { overflow, description, barcode, isActive, ...required } = editable;

export const PackingModeQuery = OneOf(PACKING_MODES);

export const PlannedBoxes = Type.Object({
  id: Type.Integer(),
  marking: Type.String(),
  count: Type.Integer({ description: 'how many boxes of this kind' }),
  portions: Type.Array(Type.Integer(), { description: 'the portions each of these boxes gets, most first' }),
});

const PackingPlan = Type.Object(
  {
    mode: PackingModeQuery,
    portions: Type.Integer({ description: 'the portions to pack' }),
    boxes: Type.Array(PlannedBoxes, { description: 'the boxes to use, largest first' }),
    capacity: Type.Integer({
      description: 'the most portions these boxes take in this mode: their qntTo, plus their overflow when economical',
    }),
    weight: Type.String({ description: "the boxes' own weight (selfWeight), kg, decimal string" }),
    overflow: Type.Integer({ description: 'portions packed beyond the boxes’ qntTo (economical only)' }),
    items: Type.Array(Box, {
      description: 'the single active boxes that take N portions (qntFrom ≤ N ≤ qntTo + overflow), smallest first, as before plans',
    }),
  },
  {
    title: 'PackingPlan',
    examples: [
      {
        mode: 'spacious',
        portions: 40,
        boxes: [
          { id: 12, marking: 'XL1', count: 1, portions: [36] },
          { id: 8, marking: 'S3', count: 1, portions: [4] },
        ],
        capacity: 41,
        weight: '1.45',
        overflow: 0,
        items: [],
      },
    ],
  },
);

const boxSettingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerCrud(app, {
    prefix: '/box-settings',
    resource: 'boxSettings',
    noun: 'Box',
    tag: 'box-settings',
    table: boxSettings,
    idColumn: boxSettings.id,
    idParams: SerialIdParams,
    item: Box,
    createBody: Strict({ ...required, ...optional({ overflow, description, barcode, isActive }) }, { examples: [exampleBox] }),
    // out of stock at the warehouse: recommend no longer offers it
    updateBody: Strict(optional(editable), { minProperties: 1, examples: [{ isActive: false }] }),
    list: {
      filters: { isActive: Type.Boolean(), marking: Name(50) },
      where: (q) => [
        q.isActive !== undefined ? eq(boxSettings.isActive, q.isActive) : undefined,
        q.marking ? eq(boxSettings.marking, q.marking) : undefined,
      ],
      sorts: { id: boxSettings.id, qntFrom: boxSettings.qntFrom },
      defaultSort: 'id',
    },
  });

  const columns = publicColumns(boxSettings, Box);
  app.get(
    '/box-settings/recommend',
    {
      schema: {
        tags: ['box-settings'],
        summary: 'A packing plan for N portions, and the single boxes that take them',
        description:
          `The boxes to pack N portions in (1 to ${MAX_PORTIONS}), from the active boxes. spacious (the default): no box gets more than ` +
          'its qntTo; the fewest boxes, then the fewest filled below qntFrom, then the lightest. economical: a box may take its ' +
          'overflow beyond qntTo; the fewest boxes, then the fewest overflowed, then the fewest below qntFrom, then the lightest. ' +
          'An economical plan never has more boxes than the spacious one. 409 when no active box holds a portion.',
        querystring: Strict({
          portions: Type.Integer({ minimum: 1, maximum: MAX_PORTIONS }),
          mode: Type.Optional(
            Type.Union(
              PACKING_MODES.map((m) => Type.Literal(m)),
              { default: DEFAULT_PACKING_MODE },
            ),
          ),
        }),
        response: { ...errorResponses, 200: PackingPlan },
      },
      config: { access: { resource: 'boxSettings', action: 'read' } },
    },
    async (request) => {
      const n = request.query.portions;
      const [plan, items] = await Promise.all([
        planFor(app.db, n, request.query.mode ?? DEFAULT_PACKING_MODE),
        boxesTaking(app.db, columns, n),
      ]);
      return { ...plan, items };
    },
  );
};

export default boxSettingsRoutes;
