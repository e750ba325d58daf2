/** /api/v1/box-settings: the boxes orders are packed in, and which box takes N portions. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { boxSettings } from '../db/schema.js';
import { publicColumns, registerCrud } from './crud.js';
import { errorResponses, Name, Nullable, optional, SerialIdParams, Strict, Text, Timestamp } from './shared.js';

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
const Centimetres = Type.Integer({ minimum: 1, maximum: 10_000 });
const Kilograms = Type.String({ pattern: '^\\d{1,8}(\\.\\d{1,2})?$', description: 'kg, decimal string' });
const editable = {
  name: Name(200),
  marking: Name(50),
  qntFrom: Portions,
  qntTo: Portions,
  width: Centimetres,
  height: Centimetres,
  length: Centimetres,
  overflow: Portions,
  weight: Kilograms,
  selfWeight: Kilograms,
  description: Nullable(Text(1000)),
  isActive: Type.Boolean(),
};
const { overflow, description, isActive, ...required } = editable;

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
    createBody: Strict({ ...required, ...optional({ overflow, description, isActive }) }, { examples: [exampleBox] }),
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
        summary: 'The active boxes that take N portions, smallest first',
        querystring: Strict({ portions: Type.Integer({ minimum: 1, maximum: 10_000 }) }),
        response: { ...errorResponses, 200: Type.Object({ items: Type.Array(Box) }) },
      },
      config: { access: { resource: 'boxSettings', action: 'read' } },
    },
    async (request) => {
      const n = request.query.portions;
      const items = await app.db
        .select(columns)
        .from(boxSettings)
        .where(and(eq(boxSettings.isActive, true), lte(boxSettings.qntFrom, n), gte(sql`${boxSettings.qntTo} + ${boxSettings.overflow}`, n)))
        .orderBy(asc(boxSettings.qntTo), asc(boxSettings.weight), asc(boxSettings.id));
      return { items };
    },
  );
};

export default boxSettingsRoutes;
