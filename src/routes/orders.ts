/** /api/v1/orders: the orders SalesDrive sends, their history, and look-up by external id. */
import { eq, gte, inArray, lte, type SQL } from 'drizzle-orm';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { orderHistory, orders, SYNC_STATUSES } from '../db/schema.js';
import { notFound } from '../plugins/errors.js';
import { listPage, publicColumns, registerCrud } from './crud.js';
import { HistoryItem } from './order-history.js';
import { OrderStatus, statusTextOf } from './statuses.js';
import { errorResponses, ListOf, Money, Name, Nullable, OneOf, optional, Page, Strict, Text, TextIdParams, Timestamp } from './shared.js';

const SyncStatus = OneOf(SYNC_STATUSES);
const Phone = Type.String({ pattern: '^\\+?[0-9 ()-]{3,32}$' });

const OrderLine = Strict({
  productName: Name(300),
  quantity: Type.Integer({ minimum: 0, maximum: 100_000 }),
  price: Type.Number({ minimum: 0, maximum: 1e9 }),
  sku: Name(100),
});

// an order as SalesDrive sends it, for the API docs ("Try it out"): new, two lines, no TTN yet
const exampleLines = [
  { productName: 'Вареники з картоплею', quantity: 3, price: 121.77, sku: '01001' },
  { productName: 'Сирники №98', quantity: 2, price: 61.81, sku: '01098' },
];
const exampleOrder = {
  id: '123457',
  externalId: '73457',
  orderNumber: '73457',
  ttn: '',
  quantity: 5,
  status: '1',
  items: exampleLines,
  rawData: {
    id: 123457,
    externalId: '73457',
    statusId: 1,
    orderTime: '2026-11-30 11:15:00',
    kilTPorcij: 5,
    products: exampleLines,
    primaryContact: { fName: 'Оксана', lName: 'Шевчук', phone: ['+380670104729'] },
    ord_delivery_data: [{ cityName: 'Львів', provider: 'novaposhta', address: 'Відділення №2' }],
  },
  customerName: 'Шевчук Оксана',
  customerPhone: '+380670104729',
  deliveryAddress: 'Відділення №2, Львів',
  cityName: 'Львів',
  paymentMethod: 'LiqPay',
  shippingMethod: 'Нова Пошта',
  provider: 'novaposhta',
  totalPrice: '488.93',
  orderDate: '2026-11-30T09:15:00.000Z',
  syncStatus: 'success' as const,
};

const Order = Type.Object(
  {
    id: Type.String(),
    externalId: Type.String(),
    orderNumber: Type.String(),
    ttn: Type.String(),
    quantity: Type.Integer(),
    status: Type.String(),
    statusText: Type.String(),
    // legacy rows may hold JSON of another shape: shown as stored
    items: Type.Unknown({ description: 'array of {productName, quantity, price, sku}' }),
    rawData: Type.Unknown({ description: 'the order as SalesDrive sent it' }),
    customerName: Nullable(Type.String()),
    customerPhone: Nullable(Type.String()),
    deliveryAddress: Nullable(Type.String()),
    cityName: Nullable(Type.String()),
    paymentMethod: Nullable(Type.String()),
    shippingMethod: Nullable(Type.String()),
    provider: Nullable(Type.String()),
    totalPrice: Nullable(Type.String({ description: 'decimal string' })),
    orderDate: Nullable(Timestamp),
    syncStatus: Type.String(),
    syncError: Nullable(Type.String()),
    lastSynced: Timestamp,
    salesdriveUpdatedAt: Nullable(Type.String({ format: 'date-time', description: "SalesDrive's updateAt of the newest webhook delivery applied" })),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  {
    $id: 'Order',
    title: 'Order',
    examples: [
      {
        ...exampleOrder,
        statusText: 'Новий',
        syncError: null,
        lastSynced: '2026-11-30T09:15:02.000Z',
        salesdriveUpdatedAt: '2026-11-30T09:15:00.000Z',
        createdAt: '2026-11-30T09:15:02.000Z',
        updatedAt: '2026-11-30T09:15:02.000Z',
      },
    ],
  },
);

const editable = {
  externalId: Name(100),
  orderNumber: Name(100),
  ttn: Text(100),
  quantity: Type.Integer({ minimum: 0, maximum: 100_000 }),
  status: OrderStatus,
  statusText: Name(100),
  items: Type.Array(OrderLine, { maxItems: 500 }),
  rawData: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown()),
  customerName: Nullable(Text(300)),
  customerPhone: Nullable(Phone),
  deliveryAddress: Nullable(Text(1000)),
  cityName: Nullable(Text(200)),
  paymentMethod: Nullable(Text(100)),
  shippingMethod: Nullable(Text(100)),
  provider: Nullable(Text(100)),
  totalPrice: Nullable(Money),
  orderDate: Nullable(Timestamp),
  syncStatus: SyncStatus,
  syncError: Nullable(Text(2000)),
  lastSynced: Timestamp,
};
const { externalId, orderNumber, quantity, status, items, ...rest } = editable;
const CreateOrder = Strict({
  id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^/?#]+$', description: 'the SalesDrive order id' }),
  externalId,
  orderNumber,
  quantity,
  status,
  items,
  ...optional(rest),
}, { examples: [exampleOrder] });
// packed and handed to Nova Poshta: the status change is recorded in the order's history
const UpdateOrder = Strict(optional(editable), { minProperties: 1, examples: [{ status: '3', ttn: '20450912345678' }] });

const ordersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const sorts = { createdAt: orders.createdAt, orderDate: orders.orderDate, lastSynced: orders.lastSynced };
  registerCrud(app, {
    prefix: '/orders',
    resource: 'orders',
    noun: 'Order',
    tag: 'orders',
    table: orders,
    idColumn: orders.id,
    idParams: TextIdParams,
    item: Order,
    readBy: [{ path: 'by-external-id', param: 'externalId', schema: Name(100), column: orders.externalId, summary: 'Read one order by its external id' }],
    createBody: CreateOrder,
    updateBody: UpdateOrder,
    list: {
      filters: {
        status: Type.Array(OrderStatus, { maxItems: 20, description: 'one or several statuses' }),
        syncStatus: Type.Array(SyncStatus, { maxItems: 3 }),
        customerPhone: Phone,
        externalId: Type.Array(Name(100), { maxItems: 100, description: 'one or several external ids' }),
        from: Type.String({ format: 'date-time', description: 'the sort column is at or after this instant' }),
        to: Type.String({ format: 'date-time', description: 'the sort column is at or before this instant' }),
      },
      where: (q) => {
        const column = sorts[q.sort];
        return [
          q.status ? inArray(orders.status, q.status) : undefined,
          q.syncStatus ? inArray(orders.syncStatus, q.syncStatus) : undefined,
          q.customerPhone ? eq(orders.customerPhone, q.customerPhone) : undefined,
          q.externalId ? inArray(orders.externalId, q.externalId) : undefined,
          q.from ? gte(column, new Date(q.from)) : undefined,
          q.to ? lte(column, new Date(q.to)) : undefined,
        ] satisfies (SQL | undefined)[];
      },
      sorts,
      defaultSort: 'createdAt',
    },
    // statusText follows status unless the caller names it
    toInsert: (body) => ({ ttn: '', rawData: {}, ...body, statusText: statusTextOf(body.status, body.statusText) }),
    toUpdate: async (body, before, { tx }) => {
      if (body.status === undefined) return body;
      const statusText = statusTextOf(body.status, body.statusText);
      // a status change here is pending until its push reaches SalesDrive; behind an earlier push
      // still on its way, sync_status goes on telling of that one (plugins/salesdrive-push.ts)
      const pushing = app.statusPush && body.status !== before.status && !(await app.statusPush.undelivered(tx, before.id));
      return { ...body, statusText, ...(pushing ? { syncStatus: 'pending' as const, syncError: null } : {}) };
    },
    // a status change is recorded in the order's history and its push to SalesDrive written, in the same transaction
    afterUpdate: async (before, after, { tx, request }) => {
      if (after.status === before.status) return;
      await tx.insert(orderHistory).values({
        orderId: after.id,
        status: after.status,
        statusText: after.statusText,
        source: 'manual',
        userId: request.user.id,
      });
      await app.statusPush?.enqueue(tx, after.id, after.status);
    },
  });

  const historyColumns = publicColumns(orderHistory, HistoryItem);
  app.get(
    '/orders/:id/history',
    {
      schema: {
        tags: ['orders'],
        summary: "An order's history, newest first",
        params: TextIdParams,
        querystring: Strict({ limit: Type.Optional(Page.limit), cursor: Type.Optional(Page.cursor) }),
        response: { ...errorResponses, 200: ListOf(HistoryItem) },
      },
      config: { access: { resource: 'orderHistory', action: 'read' } },
    },
    async (request) => {
      const { id } = request.params;
      const [order] = await app.db.select({ id: orders.id }).from(orders).where(eq(orders.id, id));
      if (!order) throw notFound('Order');
      return listPage(
        app.db,
        { table: orderHistory, idColumn: orderHistory.id, columns: historyColumns, sort: 'changedAt', sortColumn: orderHistory.changedAt },
        { ...request.query, order: 'desc' },
        [eq(orderHistory.orderId, id)],
      );
    },
  );
};

export default ordersRoutes;
