/**
 * SalesDrive's order list, as the old back office read it (salesDriveService.ts): `GET
 * {SALESDRIVE_URL}/api/order/list/` with the header `Form-Api-Key`, `filter[updateAt][from|to]` (Kyiv
 * time), `page`, `limit` (at most 100), or `filter[id][from|to]` for one order; the answer
 * `{status: "success", data: [...], totals: {count}}`. A list order is shaped unlike a webhook's
 * `data` (its `formatOrder`: `primaryContact`, `products[].text`, `ord_delivery_data[0]`); here it is
 * put in the webhook's shape, so that one upsert (deliveries.ts) stores both, and checked against the
 * webhook's schema like a delivery.
 */
import { Value } from 'typebox/value';
import type { SalesDrivePush } from '../config.js';
import { fieldOf } from '../field-of.js';
import { PayloadError, readDelivery, SalesDrivePayload, type Delivery } from './payload.js';

/** SalesDrive's largest page. */
export const PAGE_SIZE = 100;

export interface OrderListPage {
  orders: unknown[];
  /** All the orders the filter matches (totals.count). */
  total: number;
}

export class OrderListError extends Error {}

/** An instant as SalesDrive's filters take it: Kyiv wall-clock time, "2026-11-30 11:15:00". */
export const kyivText = (instant: Date) => instant.toLocaleString('sv-SE', { timeZone: 'Europe/Kyiv', hour12: false });

const excerpt = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);

export function orderListClient(salesdrive: SalesDrivePush) {
  async function get(params: Record<string, string>, signal?: AbortSignal): Promise<OrderListPage> {
    const timeout = AbortSignal.timeout(salesdrive.timeout * 1000);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${salesdrive.url}/api/order/list/?${new URLSearchParams(params)}`, {
        headers: { 'form-api-key': salesdrive.apiKey, accept: 'application/json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (error) {
      if (timeout.aborted) throw new OrderListError(`SalesDrive did not answer in ${salesdrive.timeout} s`);
      throw new OrderListError(
        `SalesDrive is unreachable: ${String(fieldOf(fieldOf(error, 'cause'), 'code') ?? fieldOf(error, 'message') ?? error)}`,
      );
    }
    if (!response.ok) throw new OrderListError(`SalesDrive answered ${response.status}: ${excerpt(text)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OrderListError(`SalesDrive answered something that is not JSON: ${excerpt(text)}`);
    }
    const data = fieldOf(body, 'data');
    if (fieldOf(body, 'status') !== 'success' || !Array.isArray(data)) {
      const message = fieldOf(body, 'message');
      throw new OrderListError(`SalesDrive refused the order list: ${excerpt(typeof message === 'string' ? message : text)}`);
    }
    const count = Number(fieldOf(fieldOf(body, 'totals'), 'count'));
    return { orders: data, total: Number.isFinite(count) ? count : data.length };
  }
  return {
    /** One page of the orders updated between the two instants. */
    page: (from: Date, to: Date, page: number, signal?: AbortSignal) =>
      get(
        { page: String(page), limit: String(PAGE_SIZE), 'filter[updateAt][from]': kyivText(from), 'filter[updateAt][to]': kyivText(to) },
        signal,
      ),
    /** One order by its id, or undefined when SalesDrive has none. */
    byId: async (id: string, signal?: AbortSignal) =>
      (await get({ page: '1', limit: '1', 'filter[id][from]': id, 'filter[id][to]': id }, signal)).orders[0],
  };
}
export type OrderListClient = ReturnType<typeof orderListClient>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A list order as a delivery: the webhook's fields from the list's (the list order's own fields
 * kept beside them, in raw_data), checked as a webhook's body is. A PayloadError names what cannot
 * be stored.
 */
export function deliveryOfListOrder(order: unknown): Delivery {
  if (!isObject(order)) throw new PayloadError(`a list order that is not an object: ${JSON.stringify(order)?.slice(0, 100)}`);
  const contact = fieldOf(order, 'primaryContact');
  const products = fieldOf(order, 'products');
  const deliveries = fieldOf(order, 'ord_delivery_data');
  const delivery: unknown = Array.isArray(deliveries) ? deliveries[0] : undefined;
  const provider = fieldOf(delivery, 'provider');
  const data: Record<string, unknown> = {
    ...order,
    ...(Array.isArray(products)
      ? {
          products: products.map((p) => ({
            name: fieldOf(p, 'text') ?? fieldOf(p, 'name'),
            amount: fieldOf(p, 'amount'),
            price: fieldOf(p, 'price'),
            sku: fieldOf(p, 'sku'),
          })),
        }
      : {}),
    ...(isObject(contact)
      ? { contacts: [{ fName: contact.fName, lName: contact.lName, mName: contact.mName, phone: contact.phone }] }
      : {}),
  };
  if (isObject(delivery) && fieldOf(order, 'ord_novaposhta') === undefined && fieldOf(order, 'ord_ukrposhta') === undefined) {
    if (provider === 'ukrposhta') data.ord_ukrposhta = { cityName: delivery.cityName };
    else data.ord_novaposhta = { EN: delivery.trackingNumber, cityTemplateName: delivery.cityName };
  }
  const payload = { info: { webhookEvent: 'status_change' }, data };
  if (!Value.Check(SalesDrivePayload, payload)) {
    const [error] = Value.Errors(SalesDrivePayload, payload);
    throw new PayloadError(
      `order ${String(fieldOf(order, 'id'))} of SalesDrive's list cannot be stored: ${error?.instancePath ?? ''} ${error?.message ?? 'invalid'}`,
    );
  }
  return readDelivery(payload);
}
