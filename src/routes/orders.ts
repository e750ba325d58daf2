/** /api/v1/orders: the orders SalesDrive sends, their history, and look-up by external id. */
import { and, asc, count, desc, eq, gte, ilike, inArray, lte, sql, type SQL } from 'drizzle-orm';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { boxSettings, orderHistory, orders, orderSearchText, products, SYNC_STATUSES, users } from '../db/schema.js';
import { centikilograms, MAX_PORTIONS } from '../packing/plan.js';
import { fieldOf } from '../field-of.js';
import { HttpError, notFound } from '../plugins/errors.js';
import { planFor } from './box-settings.js';
import { afterCursor, listPage, publicColumns, registerCrud, withEtag, type ListQuery } from './crud.js';
import { HistoryItem } from './order-history.js';
import { readShopSettings } from './shop-settings.js';
import { OrderStatus, STATUS_TEXT, statusTextOf } from './statuses.js';
import { containing, errorResponses, ListOf, Money, Name, Nullable, OneOf, optional, Page, Strict, Text, TextIdParams, Timestamp } from './shared.js';

const SYNC_STATUS_MEANING =
  'where its status stands with SalesDrive: pending (a change on its way), error (see syncError), success (delivered). ' +
  'Without SALESDRIVE_URL nothing is sent and this is not kept up: an order created here stays pending, meaning not sent to SalesDrive';
const SyncStatus = OneOf(SYNC_STATUSES, { description: SYNC_STATUS_MEANING });
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
    salesdriveUpdatedAt: Nullable(Type.String({ format: 'date-time', description: "SalesDrive's updateAt of the newest webhook delivery applied" })),
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

const sorts = { createdAt: orders.createdAt, orderDate: orders.orderDate, lastSynced: orders.lastSynced };
type Sort = keyof typeof sorts;
// (Object.keys names them as strings)
const SortName = OneOf(Object.keys(sorts).filter((name): name is Sort => name in sorts), { default: 'createdAt' });

/** The list's filters: the list itself, its counts (status aside) and an order's neighbours take them. */
const { status: statusFilter, ...filtersButStatus } = {
  status: Type.Array(OrderStatus, { maxItems: 20, description: 'one or several statuses' }),
  syncStatus: Type.Array(SyncStatus, { maxItems: 3 }),
  customerPhone: Phone,
  externalId: Type.Array(Name(100), { maxItems: 100, description: 'one or several external ids' }),
  q: Type.String({
    minLength: 3,
    maxLength: 100,
    pattern: '^[^\\u0000-\\u001f]+$',
    description: 'order number, TTN, customer name or customer phone contains this (3 characters or more), ignoring case',
  }),
  from: Type.String({ format: 'date-time', description: 'the sort column is at or after this instant' }),
  to: Type.String({ format: 'date-time', description: 'the sort column is at or before this instant' }),
};
const filters = { status: statusFilter, ...filtersButStatus };
type Filters = ListQuery<typeof filters, typeof sorts>;

function where(q: Filters): (SQL | undefined)[] {
  const column = sorts[q.sort];
  return [
    q.status ? inArray(orders.status, q.status) : undefined,
    q.syncStatus ? inArray(orders.syncStatus, q.syncStatus) : undefined,
    q.customerPhone ? eq(orders.customerPhone, q.customerPhone) : undefined,
    q.externalId ? inArray(orders.externalId, q.externalId) : undefined,
    // the expression of the trigram index orders_search_idx, as it is
    q.q ? ilike(orderSearchText(orders), containing(q.q)) : undefined,
    q.from ? gte(column, new Date(q.from)) : undefined,
    q.to ? lte(column, new Date(q.to)) : undefined,
  ];
}

const Counts = Type.Object(
  {
    total: Type.Integer(),
    byStatus: Type.Record(Type.String(), Type.Integer(), { description: 'orders per status id: every known status (0 when none), and any other found' }),
  },
  { examples: [{ total: 1204, byStatus: { '1': 37, '2': 112, '3': 9, '4': 201, '5': 790, '6': 31, '7': 12, '8': 12 } }] },
);

const HistoryEntry = Type.Object({
  ...HistoryItem.properties,
  userName: Nullable(Type.String({ description: 'the name of the user who made the change; null for a webhook, a deleted user or one without a name' })),
});

const OrderView = Type.Object(
  {
    ...Order.properties,
    history: Type.Optional(Type.Array(HistoryEntry, { description: 'include=history: the latest entries, newest first' })),
    previousId: Type.Optional(Nullable(Type.String({ description: 'include=history: the order before this one in the list of this sort, order and filters' }))),
    nextId: Type.Optional(Nullable(Type.String({ description: 'include=history: the order after this one in that list ("next order")' }))),
  },
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

const ReadQuery = Strict({
  include: Type.Optional(Type.Literal('history', { description: 'history: also the latest history entries, and the previous and next order of the list' })),
  historyLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'include=history: how many entries (newest first)' })),
  sort: Type.Optional(SortName),
  order: Type.Optional(Page.order),
  ...optional(filters),
});

const BoxesQuery = Type.String({
  pattern: '^[0-9]{1,9}:[0-9]{1,4}(,[0-9]{1,9}:[0-9]{1,4}){0,19}$',
  description: 'the boxes used, as id:count pairs, e.g. 12:1,8:1; without it, the spacious plan for the order’s quantity',
});

const ExpectedWeight = Type.Object(
  {
    expectedWeight: Type.Integer({ description: 'the items’ weight plus the boxes’ own weight' }),
    min: Type.Integer({ description: 'the lightest parcel the tolerance accepts' }),
    max: Type.Integer({ description: 'the heaviest parcel the tolerance accepts' }),
    unit: Type.Literal('g'),
    itemsWeight: Type.Integer({ description: 'Σ quantity × product weight, over the lines whose product has a weight' }),
    boxesWeight: Type.Integer({ description: 'Σ count × box selfWeight' }),
    boxes: Type.Array(Type.Object({ id: Type.Integer(), marking: Type.String(), count: Type.Integer() })),
    tolerance: Type.Object({ percent: Type.String(), grams: Type.Integer(), allowed: Type.Integer({ description: 'the larger of the two, in grams' }) }),
    missing: Type.Array(
      Type.Object({
        sku: Nullable(Type.String()),
        quantity: Nullable(Type.Integer()),
        reason: OneOf(['no-product', 'no-weight', 'malformed-line'] as const),
      }),
      { description: 'lines left out of itemsWeight: never counted as zero in silence' },
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
        boxes: [{ id: 8, marking: 'S3', count: 1 }, { id: 7, marking: 'XS2', count: 1 }],
        tolerance: { percent: '5.00', grams: 50, allowed: 177 },
        missing: [],
      },
    ],
  },
);

interface Line {
  sku: string | null;
  quantity: number | null;
}

/** The order's lines as stored (legacy rows may hold other shapes: such a line is reported, not guessed). */
function linesOf(items: unknown): Line[] {
  if (!Array.isArray(items)) return [{ sku: null, quantity: null }];
  return items.map((item: unknown) => {
    const sku = fieldOf(item, 'sku');
    const quantity = fieldOf(item, 'quantity');
    return {
      sku: typeof sku === 'string' && sku !== '' ? sku : null,
      quantity: typeof quantity === 'number' && Number.isInteger(quantity) && quantity >= 0 ? quantity : null,
    };
  });
}

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
    readBy: [{ path: 'by-external-id', param: 'externalId', schema: Name(100), column: orders.externalId, summary: 'Read one order by its external id' }],
    createBody: CreateOrder,
    updateBody: UpdateOrder,
    // GET /orders/:id is below: it also answers the order's history and neighbours
    operations: ['list', 'create', 'update', 'delete'],
    list: { filters, where, sorts, defaultSort: 'createdAt' },
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
      await tx.insert(orderHistory).values({ orderId: after.id, status: after.status, statusText: after.statusText, source: 'manual', userId: request.user.id });
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

  const columns = publicColumns(orders, Order);
  // read like every resource's read: prepared once (building the SQL was a third of a read's CPU)
  const readOrder = app.db.select(columns).from(orders).where(eq(orders.id, sql.placeholder('id'))).prepare('orders_read_view');
  const readHistory = app.db
    .select({ ...historyColumns, userName: users.name })
    .from(orderHistory)
    .leftJoin(users, eq(users.id, orderHistory.userId))
    .where(eq(orderHistory.orderId, sql.placeholder('id')))
    .orderBy(desc(orderHistory.changedAt), desc(orderHistory.id))
    .limit(sql.placeholder('limit'))
    .prepare('orders_read_history');

  /** The id of the first order past `row` in the list of this sort and filters, going `order`. */
  async function neighbour(row: Record<string, unknown>, query: Filters, order: 'asc' | 'desc') {
    const column = sorts[query.sort];
    const value = row[query.sort];
    const direction = order === 'desc' ? desc : asc;
    const [found] = await app.db
      .select({ id: orders.id })
      .from(orders)
      .where(and(...where(query), afterCursor(column, orders.id, order, { v: value instanceof Date ? value.toISOString() : null, id: row.id })))
      .orderBy(direction(column), direction(orders.id))
      .limit(1);
    return found?.id ?? null;
  }

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
      const [row] = await readOrder.execute({ id });
      if (!row) throw notFound('Order');
      withEtag(reply, row);
      if (include !== 'history') return row;
      const query: Filters = { ...rest, sort: sort ?? 'createdAt' };
      const listOrder = order ?? 'desc';
      const [history, nextId, previousId] = await Promise.all([
        readHistory.execute({ id, limit: historyLimit ?? 20 }),
        neighbour(row, query, listOrder),
        neighbour(row, query, listOrder === 'desc' ? 'asc' : 'desc'),
      ]);
      return { ...row, history, previousId, nextId };
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
      const query: Filters = { ...request.query, sort: request.query.sort ?? 'createdAt' };
      const rows = await app.db
        .select({ status: orders.status, n: count() })
        .from(orders)
        .where(and(...where(query)))
        .groupBy(orders.status);
      const byStatus: Record<string, number> = Object.fromEntries(Object.keys(STATUS_TEXT).map((status) => [status, 0]));
      for (const { status, n } of rows) byStatus[status] = Number(n);
      return { total: rows.reduce((sum, { n }) => sum + Number(n), 0), byStatus };
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
          'expected weight and weightToleranceGrams (GET/PATCH /shop-settings). A line whose product is unknown or has no weight ' +
          'is named in missing, never counted as zero in silence.',
        params: TextIdParams,
        querystring: Strict({ boxes: Type.Optional(BoxesQuery) }),
        response: { ...errorResponses, 200: ExpectedWeight },
      },
      config: { access: { resource: 'orders', action: 'read' } },
    },
    async (request) => {
      const [order] = await app.db.select({ items: orders.items, quantity: orders.quantity }).from(orders).where(eq(orders.id, request.params.id));
      if (!order) throw notFound('Order');
      const lines = linesOf(order.items);
      const skus = [...new Set(lines.flatMap((l) => (l.sku ? [l.sku] : [])))];
      const [found, boxes, settings] = await Promise.all([
        skus.length ? app.db.select({ sku: products.sku, weight: products.weight }).from(products).where(inArray(products.sku, skus)) : [],
        boxesFor(request.query.boxes, order.quantity),
        readShopSettings(app.db),
      ]);
      const weightOf = new Map(found.map((p) => [p.sku, p.weight]));
      const missing: Static<typeof ExpectedWeight>['missing'] = [];
      let itemsWeight = 0;
      for (const line of lines) {
        if (line.sku === null || line.quantity === null) missing.push({ ...line, reason: 'malformed-line' });
        else if (!weightOf.has(line.sku)) missing.push({ ...line, reason: 'no-product' });
        else if (weightOf.get(line.sku) === null) missing.push({ ...line, reason: 'no-weight' });
        else itemsWeight += line.quantity * weightOf.get(line.sku)!;
      }
      const boxesWeight = boxes.reduce((sum, b) => sum + b.count * b.centikilograms * 10, 0);
      const expectedWeight = itemsWeight + boxesWeight;
      // percent as hundredths, so that the share is exact before it is rounded to the gram
      const share = Math.round((expectedWeight * centikilograms(settings.weightTolerancePercent)) / 10_000);
      const allowed = Math.max(share, settings.weightToleranceGrams);
      return {
        expectedWeight,
        min: Math.max(0, expectedWeight - allowed),
        max: expectedWeight + allowed,
        unit: 'g' as const,
        itemsWeight,
        boxesWeight,
        boxes: boxes.map(({ id, marking, count }) => ({ id, marking, count })),
        tolerance: { percent: settings.weightTolerancePercent, grams: settings.weightToleranceGrams, allowed },
        missing,
      };
    },
  );

  /** The boxes named by ?boxes=id:count,… (any box, active or not: it is what was used), else the spacious plan. */
  async function boxesFor(text: string | undefined, quantity: number) {
    if (text === undefined) {
      if (quantity === 0) return [];
      if (quantity > MAX_PORTIONS) throw new HttpError(409, 'TOO_MANY_PORTIONS', `The order has ${quantity} portions, more than a plan is made for (${MAX_PORTIONS}): name the boxes (boxes=id:count,…)`);
      const plan = await planFor(app.db, quantity, 'spacious');
      const weights = await app.db.select({ id: boxSettings.id, selfWeight: boxSettings.selfWeight }).from(boxSettings).where(inArray(boxSettings.id, plan.boxes.map((b) => b.id)));
      return plan.boxes.map((b) => ({ ...b, centikilograms: centikilograms(weights.find((w) => w.id === b.id)!.selfWeight) }));
    }
    const counts = new Map<number, number>();
    for (const pair of text.split(',')) {
      const [id, n] = pair.split(':').map(Number);
      if (id !== undefined && n !== undefined) counts.set(id, (counts.get(id) ?? 0) + n); // always both: the pattern requires them
    }
    const ids = [...counts.keys()];
    const rows = await app.db.select({ id: boxSettings.id, marking: boxSettings.marking, selfWeight: boxSettings.selfWeight }).from(boxSettings).where(inArray(boxSettings.id, ids));
    const unknown = ids.filter((id) => !rows.some((r) => r.id === id));
    if (unknown.length) throw new HttpError(400, 'UNKNOWN_BOX', `querystring.boxes names boxes that do not exist: ${unknown.join(', ')}`);
    return ids.map((id) => {
      const box = rows.find((r) => r.id === id)!;
      return { id, marking: box.marking, count: counts.get(id)!, centikilograms: centikilograms(box.selfWeight) };
    });
  }
};

export default ordersRoutes;
