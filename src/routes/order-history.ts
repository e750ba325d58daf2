/** /api/v1/order-history: every status an order went through. Append-only: list, read, create. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eq, gte, inArray, lte } from 'drizzle-orm';
import { Type } from 'typebox';
import { HISTORY_SOURCES, orderHistory } from '../db/schema.js';
import { HistoryItem } from '../orders/shapes.js';
import { registerCrud } from './crud.js';
import { OrderStatus, statusTextOf } from '../orders/statuses.js';
import { Name, Nullable, OneOf, SerialId, Strict, Text, TextIdParams, Timestamp } from '../schemas.js';

const Source = OneOf(HISTORY_SOURCES);

const CreateHistory = Strict(
  {
    orderId: Type.String({ minLength: 1, maxLength: 100 }),
    status: OrderStatus,
    statusText: Type.Optional(Name(100)),
    source: Source,
    changedAt: Type.Optional(Timestamp),
    notes: Type.Optional(Nullable(Text(2000))),
  },
  { examples: [{ orderId: '123457', status: '4', source: 'manual', notes: 'Передано Новій Пошті, ТТН 20450912345678' }] },
);

const orderHistoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerCrud(app, {
    prefix: '/order-history',
    resource: 'orderHistory',
    noun: 'Order history entry',
    tag: 'order-history',
    table: orderHistory,
    idColumn: orderHistory.id,
    idParams: TextIdParams,
    item: HistoryItem,
    createBody: CreateHistory,
    updateBody: Strict({}),
    operations: ['list', 'read', 'create'],
    list: {
      filters: {
        orderId: Type.String({ minLength: 1, maxLength: 100 }),
        source: Type.Array(Source, { maxItems: 3 }),
        userId: SerialId,
        from: Type.String({ format: 'date-time', description: 'changed at or after' }),
        to: Type.String({ format: 'date-time', description: 'changed at or before' }),
      },
      where: (q) => [
        q.orderId ? eq(orderHistory.orderId, q.orderId) : undefined,
        q.source ? inArray(orderHistory.source, q.source) : undefined,
        q.userId ? eq(orderHistory.userId, q.userId) : undefined,
        q.from ? gte(orderHistory.changedAt, new Date(q.from)) : undefined,
        q.to ? lte(orderHistory.changedAt, new Date(q.to)) : undefined,
      ],
      sorts: { changedAt: orderHistory.changedAt },
      defaultSort: 'changedAt',
    },
    // the entry is recorded as made by the caller; its text follows the status unless given
    toInsert: (body, { request }) => ({ ...body, statusText: statusTextOf(body.status, body.statusText), userId: request.user.id }),
  });
};

export default orderHistoryRoutes;
