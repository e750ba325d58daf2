/** /api/v1/orders: the orders SalesDrive sends, their history, and look-up by external id. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { publicColumns } from '../db/pages.js';
import { orders } from '../db/schema.js';
import { notFound } from '../errors.js';
import { historyColumns, historyPage, recordStatusChange } from '../orders/history.js';
import {
  prepareCountByStatus,
  DEFAULT_SORT,
  filters,
  filtersButStatus,
  orderViewReader,
  prepareOrderRead,
  SortName,
  sorts,
  where,
  type Filters,
} from '../orders/list.js';
import { ordersPage } from '../orders/search.js';
import { HistoryItem, Phone, SYNC_STATUS_MEANING, SyncStatus } from '../orders/shapes.js';
import { OrderStatus, statusTextOf } from '../orders/statuses.js';
import { expectedWeightOf } from '../packing/expected-weight.js';
import { BOXES_PATTERN, PROBLEM_REASONS } from '../packing/packing-list.js';
import { itemJson, registerCrud } from './crud.js';
import {
  errorResponses,
  ListOf,
  Money,
  Name,
  Nullable,
  OneOf,
  optional,
  Page,
  PAGE_DEFAULTS,
  Strict,
  Text,
  TextIdParams,
  Timestamp,
} from '../schemas.js';

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

const orderAsRead = {
  ...exampleOrder,
  statusText: 'Новий',
  syncError: null,
  lastSynced: '2026-11-30T09:15:02.000Z',
  salesdriveUpdatedAt: '2026-11-30T09:15:00.000Z',
  createdAt: '2026-11-30T09:15:02.000Z',
  updatedAt: '2026-11-30T09:15:02.000Z',
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
    syncStatus: Type.String({ description: SYNC_STATUS_MEANING }),
    syncError: Nullable(Type.String()),
    lastSynced: Timestamp,
    salesdriveUpdatedAt: Nullable(
      Type.String({ format: 'date-time', description: "SalesDrive's updateAt of the newest webhook delivery applied" }),
    ),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  {
    $id: 'Order',
    title: 'Order',
    examples: [orderAsRead],
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
const CreateOrder = Strict(
  {
    id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^/?#]+$', description: 'the SalesDrive order id' }),
    externalId,
    orderNumber,
    quantity,
    status,
    items,
    ...optional(rest),
  },
  { examples: [exampleOrder] },
);
// packed and handed to Nova Poshta: the status change is recorded in the order's history
const UpdateOrder = Strict(optional(editable), { minProperties: 1, examples: [{ status: '3', ttn: '20450912345678' }] });

const Counts = Type.Object(
  {
    total: Type.Integer(),
    byStatus: Type.Record(Type.String(), Type.Integer(), {
      description: 'orders per status id: every known status (0 when none), and any other found',
    }),
  },
  { examples: [{ total: 1204, byStatus: { '1': 37, '2': 112, '3': 9, '4': 201, '5': 790, '6': 31, '7': 12, '8': 12 } }] },
);

const HistoryEntry = Type.Object({
  ...HistoryItem.properties,
  userName: Nullable(
    Type.String({ description: 'the name of the user who made the change; null for a webhook, a deleted user or one without a name' }),
  ),
});

/** What include=history adds to an order, after its own fields. */
const ViewAdditions = Type.Object({
  history: Type.Optional(Type.Array(HistoryEntry, { description: 'include=history: the latest entries, newest first' })),
  previousId: Type.Optional(
    Nullable(Type.String({ description: 'include=history: the order before this one in the list of this sort, order and filters' })),
  ),
  nextId: Type.Optional(Nullable(Type.String({ description: 'include=history: the order after this one in that list ("next order")' }))),
});
const OrderView = Type.Object(
  { ...Order.properties, ...ViewAdditions.properties },
  {
    title: 'Order, with its history and neighbours',
    examples: [
      {
        ...orderAsRead,
        history: [
          {
            id: '5f0c2a8e-3b1d-4e0a-9c57-2d6f1e8b4a90',
            orderId: '123457',
            status: '1',
            statusText: 'Новий',
            changedAt: '2026-11-30T09:15:02.000Z',
            source: 'webhook',
            userId: null,
            notes: null,
            userName: null,
          },
        ],
        previousId: '123458',
        nextId: '123456',
      },
    ],
  },
);

/** include=history: how many entries when the query does not say. */
const HISTORY_LIMIT = 20;

const ReadQuery = Strict({
  include: Type.Optional(
    Type.Literal('history', { description: 'history: also the latest history entries, and the previous and next order of the list' }),
  ),
  historyLimit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, default: HISTORY_LIMIT, description: 'include=history: how many entries (newest first)' }),
  ),
  sort: Type.Optional(SortName),
  order: Type.Optional(Page.order),
  ...optional(filters),
});

const BoxesQuery = Type.String({
  pattern: BOXES_PATTERN,
  description: 'the boxes used, as id:count pairs, e.g. 12:1,8:1; without it, the spacious plan for the order’s quantity',
});

const ExpectedWeight = Type.Object(
  {
    expectedWeight: Type.Integer({ description: 'the items’ weight plus the boxes’ own weight' }),
    min: Type.Integer({ description: 'the lightest parcel the tolerance accepts' }),
    max: Type.Integer({ description: 'the heaviest parcel the tolerance accepts' }),
    unit: Type.Literal('g'),
    itemsWeight: Type.Integer({
      description: 'Σ quantity × product weight over the components to pick (sets expanded), those with a weight',
    }),
    boxesWeight: Type.Integer({ description: 'Σ count × box selfWeight' }),
    boxes: Type.Array(Type.Object({ id: Type.Integer(), marking: Type.String(), count: Type.Integer() })),
    tolerance: Type.Object({
      percent: Type.String(),
      grams: Type.Integer(),
      allowed: Type.Integer({ description: 'the larger of the two, in grams' }),
    }),
    missing: Type.Array(
      Type.Object({
        sku: Nullable(Type.String()),
        quantity: Nullable(Type.Integer()),
        reason: OneOf(PROBLEM_REASONS),
      }),
      {
        description:
          'what is left out of itemsWeight, never counted as zero in silence (GET /orders/:id/packing-list says where each sits)',
      },
    ),
  },
  {
    examples: [
      {
        expectedWeight: 3546,
        min: 3369,
        max: 3723,
        unit: 'g',
        itemsWeight: 3146,
        boxesWeight: 400,
        boxes: [
          { id: 8, marking: 'S3', count: 1 },
          { id: 7, marking: 'XS2', count: 1 },
        ],
        tolerance: { percent: '5.00', grams: 50, allowed: 177 },
        missing: [],
      },
    ],
  },
);

const ordersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerCrud(app, {
    prefix: '/orders',
    resource: 'orders',
    noun: 'Order',
    tag: 'orders',
    table: orders,
    idColumn: orders.id,
    idParams: TextIdParams,
    item: Order,
    readBy: [
      {
        path: 'by-external-id',
        param: 'externalId',
        schema: Name(100),
        column: orders.externalId,
        summary: 'Read one order by its external id',
      },
    ],
    createBody: CreateOrder,
    updateBody: UpdateOrder,
    // GET /orders/:id is below: it also answers the order's history and neighbours
    operations: ['list', 'create', 'update', 'delete'],
    list: { filters, where, sorts, defaultSort: DEFAULT_SORT, page: (db, ...args) => ordersPage(db, ...args, app.metrics.orderSearchTry) },
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
    // its first status, with who set it and when, as a status change is
    afterCreate: async (after, { tx, request }) => {
      await recordStatusChange(tx, after, request.user.id);
    },
    // a status change is recorded in the order's history and its push to SalesDrive written, in the same transaction
    afterUpdate: async (before, after, { tx, request }) => {
      if (after.status === before.status) return;
      await recordStatusChange(tx, after, request.user.id);
      await app.statusPush?.enqueue(tx, after.id, after.status);
    },
  });

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
      const page = await historyPage(app.db, id, request.query);
      if (!page) throw notFound('Order');
      return page;
    },
  );

  const orderColumns = publicColumns(orders, Order);
  const readOrder = prepareOrderRead(app.db, orderColumns);
  const countByStatus = prepareCountByStatus(app.db);
  const readView = orderViewReader(app.db, orderColumns, historyColumns);
  const orderJson = itemJson(Order, ViewAdditions);

  app.get(
    '/orders/:id',
    {
      schema: {
        tags: ['orders'],
        summary: 'Read one order; include=history adds its latest history and the previous and next order of the list',
        description:
          'The ETag is the order’s own (what a PATCH’s If-Match needs), with or without include. With include=history, ' +
          'previousId and nextId follow the list of the same sort, order and filters as GET /orders takes (null at its ends).',
        params: TextIdParams,
        querystring: ReadQuery,
        response: { ...errorResponses, 200: OrderView },
      },
      config: { access: { resource: 'orders', action: 'read' } },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { include, historyLimit, order, sort, ...rest } = request.query;
      if (include !== 'history') {
        const row = await readOrder(id);
        if (!row) throw notFound('Order');
        return orderJson.send(reply, row);
      }
      const query: Filters = { ...rest, sort: sort ?? DEFAULT_SORT };
      const view = await readView(id, query, order ?? PAGE_DEFAULTS.order, historyLimit ?? HISTORY_LIMIT);
      if (!view) throw notFound('Order');
      const { history, previousId, nextId, ...row } = view;
      return orderJson.send(reply, row, { history, previousId, nextId });
    },
  );

  app.get(
    '/orders/counts',
    {
      schema: {
        tags: ['orders'],
        summary: 'How many orders each status has, for the list’s tabs, with the list’s filters (status aside)',
        querystring: Strict({ sort: Type.Optional(SortName), ...optional(filtersButStatus) }),
        response: { ...errorResponses, 200: Counts },
      },
      config: { access: { resource: 'orders', action: 'read' } },
    },
    async (request) => {
      const query: Filters = { ...request.query, sort: request.query.sort ?? DEFAULT_SORT };
      return countByStatus(query);
    },
  );

  app.get(
    '/orders/:id/expected-weight',
    {
      schema: {
        tags: ['orders'],
        summary: 'What the packed parcel should weigh, and the range the shop’s tolerance accepts',
        description:
          'The items’ product weights times their quantities, plus the boxes’ own weights: the boxes given (boxes=id:count,…), ' +
          'else the spacious plan for the order’s quantity. The tolerance is the larger of weightTolerancePercent of the ' +
          'expected weight and weightToleranceGrams (GET/PATCH /shop-settings). Sets are expanded into their components, as ' +
          'GET /orders/:id/packing-list lists them; a component unknown or without a weight, or a set that contains itself, ' +
          'is named in missing, never counted as zero in silence.',
        params: TextIdParams,
        querystring: Strict({ boxes: Type.Optional(BoxesQuery) }),
        response: { ...errorResponses, 200: ExpectedWeight },
      },
      config: { access: { resource: 'orders', action: 'read' } },
    },
    async (request) => {
      const weight = await expectedWeightOf(app.db, request.params.id, request.query.boxes);
      if (!weight) throw notFound('Order');
      return weight;
    },
  );
};

export default ordersRoutes;
