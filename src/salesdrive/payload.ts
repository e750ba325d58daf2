/**
 * SalesDrive's webhook payload, as SalesDrive sends it, and what of it becomes an order's columns.
 * Lenient where SalesDrive is loose (numbers sent as strings, `kilTPorcij` sent as `{}`, a field or
 * `meta` missing), strict where a wrong value would be stored wrong: `data.id`, the times, money.
 * Fields this service does not read are allowed and kept, in `raw_data`, as received.
 */
import { Type, type Static } from 'typebox';
import { Nullable, Text } from '../schemas.js';
import { statusLabel } from '../orders/statuses.js';

/** SalesDrive leaves a field out or sends null alike. */
const Maybe = <T extends Parameters<typeof Nullable>[0]>(schema: T) => Type.Optional(Nullable(schema));
const Numeric = Type.Union([Type.Number(), Type.String({ pattern: '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$', maxLength: 40 })]);
/** SalesDrive's times: Kyiv wall-clock time, "2026-11-30 11:15:00". */
const KyivTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}(:\\d{2})?$',
  description: 'Kyiv time, YYYY-MM-DD HH:MM:SS',
});
const OrderId = Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.String({ pattern: '^[0-9]{1,15}$' })], {
  description: "SalesDrive's order id: the order's id here",
});

/** A `meta.fields` entry: the option texts of the field's value (status, shipping, payment method). */
const MetaField = Type.Object({
  options: Maybe(Type.Array(Type.Object({ text: Maybe(Type.Union([Text(300), Type.Number()])) }), { maxItems: 100 })),
});

const Product = Type.Object({
  name: Maybe(Text(300)),
  amount: Maybe(Numeric),
  price: Maybe(Numeric),
  sku: Maybe(Type.Union([Text(100), Type.Number()])),
});

const Contact = Type.Object({
  fName: Maybe(Text(200)),
  lName: Maybe(Text(200)),
  mName: Maybe(Text(200)),
  phone: Maybe(Type.Union([Text(64), Type.Array(Text(64), { maxItems: 20 })])),
});

export const OrderData = Type.Object({
  id: OrderId,
  externalId: Maybe(Type.Union([Text(100), Type.Number()])),
  sajt: Type.Optional(Type.Unknown({ description: 'the site the order came from (31 and 38 are SalesDrive itself)' })),
  statusId: Maybe(Type.Union([Type.Integer({ minimum: 0, maximum: 999 }), Type.String({ pattern: '^[0-9]{1,3}$' })])),
  products: Maybe(Type.Array(Product, { maxItems: 500 })),
  contacts: Maybe(Type.Array(Contact, { maxItems: 50 })),
  shipping_address: Maybe(Text(1000)),
  paymentAmount: Maybe(Numeric),
  orderTime: Maybe(KyivTime),
  updateAt: Maybe(KyivTime),
  kilTPorcij: Type.Optional(Type.Unknown({ description: 'portions: a number, a numeric string, or {} when unset' })),
  ord_novaposhta: Maybe(Type.Object({ EN: Maybe(Type.Union([Text(100), Type.Number()])), cityTemplateName: Maybe(Text(200)) })),
  ord_ukrposhta: Maybe(Type.Object({ cityName: Maybe(Text(200)) })),
});

export const SalesDrivePayload = Type.Object(
  {
    info: Maybe(Type.Object({ webhookEvent: Maybe(Text(100)) })),
    data: Type.Optional(OrderData),
    meta: Maybe(
      Type.Object({
        fields: Maybe(Type.Object({ statusId: Maybe(MetaField), shipping_method: Maybe(MetaField), payment_method: Maybe(MetaField) })),
      }),
    ),
  },
  {
    description: "SalesDrive's webhook payload, as SalesDrive sends it; fields not listed here are kept in raw_data",
    // a new order, two lines, to go to a Nova Poshta branch (test/fixtures/salesdrive has the whole payload)
    examples: [
      {
        info: { webhookEvent: 'new_order', account: 'nkfood' },
        data: {
          id: 123460,
          statusId: 1,
          orderTime: '2026-11-30 11:15:00',
          updateAt: '2026-11-30 11:15:02',
          externalId: '',
          sajt: 31,
          kilTPorcij: 5,
          paymentAmount: 488.93,
          shipping_address: 'Відділення №2: вул. Городоцька, 120',
          contacts: [{ fName: 'Оксана', lName: 'Шевчук', mName: '', phone: ['+380670104729'] }],
          products: [
            { name: 'Вареники з картоплею', sku: '01001', amount: 3, price: 121.77 },
            { name: 'Сирники №98', sku: '01098', amount: 2, price: 61.81 },
          ],
          ord_novaposhta: { EN: '', cityTemplateName: 'Львів' },
          ord_ukrposhta: null,
        },
        meta: {
          fields: {
            statusId: { options: [{ text: 'Новий' }] },
            shipping_method: { options: [{ text: 'Нова Пошта' }] },
            payment_method: { options: [{ text: 'Накладений платіж' }] },
          },
        },
      },
    ],
  },
);
export type SalesDrivePayload = Static<typeof SalesDrivePayload>;
export type OrderData = Static<typeof OrderData>;

/** The events that carry an order; any other is acknowledged and changes nothing. */
/** The event of a new order's delivery (SalesDrive's `info.webhookEvent`). */
export const NEW_ORDER_EVENT = 'new_order';
export const ORDER_EVENTS = new Set([NEW_ORDER_EVENT, 'status_change']);

export class PayloadError extends Error {}

const kyivParts = new Intl.DateTimeFormat('en-US', {
  timeZone: 'Europe/Kyiv',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Kyiv's offset from UTC at an instant (whole seconds), in milliseconds, as Intl reads the time zone database. */
function offsetAt(instant: number): number {
  const part = Object.fromEntries(kyivParts.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  return Date.UTC(part.year!, part.month! - 1, part.day, part.hour, part.minute, part.second) - instant;
}

const HOUR_MS = 3_600_000;
/** The offset of each UTC hour it was the same all through; at most MAX_HOURS_KNOWN of them (about 11 years). */
const offsetsByHour = new Map<number, number>();
const MAX_HOURS_KNOWN = 100_000;

/**
 * Kyiv's offset from UTC at an instant, in milliseconds (+2 h in winter, +3 h in summer). Read from
 * Intl once per hour of UTC: a delivery reads it four times per time, 6 µs each (issue 26).
 */
function kyivOffset(instant: number): number {
  const hour = Math.floor(instant / HOUR_MS);
  const known = offsetsByHour.get(hour);
  if (known !== undefined) return known;
  const [first, last] = [offsetAt(hour * HOUR_MS), offsetAt((hour + 1) * HOUR_MS - 1000)];
  if (first !== last) return offsetAt(instant); // the clocks changed within this hour
  if (offsetsByHour.size >= MAX_HOURS_KNOWN) offsetsByHour.clear();
  offsetsByHour.set(hour, first);
  return first;
}

/**
 * A Kyiv wall-clock time as the instant it names. A time in the hour skipped when the clocks go
 * forward (the last Sunday of March, 03:00-03:59) does not exist and is refused; in the hour
 * repeated when they go back (the last Sunday of October, 03:00-03:59) it is the first of the two,
 * still summer time (+03:00), as Temporal's and RFC 5545's default reading takes it.
 */
export function kyivTime(text: string, field: string): Date {
  const [, ...fields] = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text) ?? [];
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = fields.map((f) => Number(f ?? 0));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const read = new Date(wall);
  // Date.UTC reads a year below 100 as 19xx: 0024 would be stored as 1924
  const misread = read.getUTCFullYear() !== year || read.getUTCMonth() !== month - 1 || read.getUTCDate() !== day;
  if (!fields.length || misread || read.getUTCHours() !== hour || second > 59) {
    throw new PayloadError(`${field} is not a valid time: ${JSON.stringify(text)}`);
  }
  // the offsets in force a day either side; an instant is the time's if Kyiv's clock then reads it
  const instants = [kyivOffset(wall - 86_400_000), kyivOffset(wall + 86_400_000)]
    .map((offset) => wall - offset)
    .filter((instant) => instant === wall - kyivOffset(instant));
  if (!instants.length)
    throw new PayloadError(
      `${field} is not a valid time: ${JSON.stringify(text)} does not exist in Kyiv (the clocks go forward an hour then)`,
    );
  return new Date(Math.min(...instants));
}

const present = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null && value !== '';
const number = (value: number | string | null | undefined) => (present(value) ? Number(value) : undefined);

/** Money as the decimal string numeric(12,2) holds; more than kopecks, or negative, is refused. */
function money(value: number | string, field: string): string {
  const text = String(value).trim();
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(text))
    throw new PayloadError(`${field} must be an amount in hryvnias with at most 2 decimals: ${JSON.stringify(value)}`);
  return text;
}

/** The old back office's rule: orders SalesDrive itself took (site 31 or 38, or none) and that have no external id get `SD<id>`. */
export function externalIdOf(data: OrderData): string {
  const given = present(data.externalId) ? String(data.externalId) : '';
  if (given.startsWith('SD')) return given;
  const site = data.sajt === null || data.sajt === undefined || data.sajt === '' ? undefined : Number(data.sajt);
  if (!given && (site === undefined || site === 31 || site === 38 || site === 0)) return `SD${data.id}`;
  return given || String(data.id);
}

function portions(value: unknown, field: string): number | undefined {
  if (
    value === undefined ||
    value === null ||
    value === '' ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
  ) {
    return undefined;
  }
  const n = typeof value === 'number' || typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 100_000)
    throw new PayloadError(`${field} must be a whole number of portions: ${JSON.stringify(value)}`);
  return n;
}

const optionText = (field: { options?: { text?: string | number | null }[] | null } | null | undefined) => {
  const text = field?.options?.[0]?.text;
  return present(text) ? String(text) : undefined;
};

/** The columns a delivery sets: only those it carries (a missing field leaves the stored value). */
export interface OrderFields {
  status?: string;
  statusText?: string;
  items?: { productName: string; quantity: number; price: number; sku: string }[];
  customerName?: string;
  customerPhone?: string;
  deliveryAddress?: string;
  totalPrice?: string;
  orderDate?: Date;
  shippingMethod?: string;
  paymentMethod?: string;
  cityName?: string;
  provider?: string;
  ttn?: string;
  quantity?: number;
}

export function orderFieldsOf(payload: SalesDrivePayload & { data: OrderData }): OrderFields {
  const { data } = payload;
  const fields = payload.meta?.fields;
  const status = present(data.statusId) ? String(Number(data.statusId)) : undefined;
  const contact = data.contacts?.[0];
  const name = contact ? [contact.lName, contact.fName, contact.mName].filter(present).join(' ').trim() : '';
  const phone = Array.isArray(contact?.phone) ? contact.phone[0] : contact?.phone;
  const nova = data.ord_novaposhta;
  const ukr = data.ord_ukrposhta;
  const city = nova?.cityTemplateName || ukr?.cityName;
  const result: OrderFields = {
    status,
    // the status list is SalesDrive's: its own text, else the known one, else `Статус <id>`
    statusText: status === undefined ? undefined : statusLabel(status, optionText(fields?.statusId)),
    items: data.products?.map((p, i) => ({
      productName: p.name ?? '',
      quantity: portionsOrZero(p.amount, `data.products[${i}].amount`),
      price: number(p.price) ?? 0,
      sku: present(p.sku) ? String(p.sku) : '',
    })),
    customerName: name || undefined,
    customerPhone: present(phone) ? phone : undefined,
    deliveryAddress: present(data.shipping_address) ? data.shipping_address : undefined,
    totalPrice: present(data.paymentAmount) ? money(data.paymentAmount, 'data.paymentAmount') : undefined,
    orderDate: present(data.orderTime) ? kyivTime(data.orderTime, 'data.orderTime') : undefined,
    shippingMethod: optionText(fields?.shipping_method),
    paymentMethod: optionText(fields?.payment_method),
    cityName: present(city) ? city : undefined,
    provider: nova ? 'novaposhta' : ukr ? 'ukrposhta' : undefined,
    ttn: present(nova?.EN) ? String(nova.EN) : undefined,
    quantity: portions(data.kilTPorcij, 'data.kilTPorcij'),
  };
  for (const [key, value] of Object.entries(result)) if (value === undefined) Reflect.deleteProperty(result, key);
  return result;
}

function portionsOrZero(value: number | string | null | undefined, field: string): number {
  const n = number(value);
  if (n === undefined) return 0;
  if (!Number.isFinite(n) || n < 0) throw new PayloadError(`${field} must be a quantity of at least 0: ${JSON.stringify(value)}`);
  return n;
}

/** A delivery of an order, read before any database work: a value that cannot be stored is a PayloadError here. */
export interface Delivery {
  /** The order's id: SalesDrive's `data.id`. */
  id: string;
  payload: SalesDrivePayload & { data: OrderData };
  fields: OrderFields;
  /** SalesDrive's `updateAt`, in UTC. */
  updateAt: Date | undefined;
}

export function readDelivery(payload: SalesDrivePayload & { data: OrderData }): Delivery {
  const { updateAt } = payload.data;
  return {
    id: String(payload.data.id),
    payload,
    fields: orderFieldsOf(payload),
    updateAt: updateAt ? kyivTime(updateAt, 'data.updateAt') : undefined,
  };
}
