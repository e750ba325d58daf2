/**
 * SalesDrive's Kyiv times at the two clock changes: a time in the hour skipped in spring does not
 * exist and is a 400 naming the field (it was stored as another instant: 03:30 as 01:30Z, 03:00 and
 * 04:00 both as 01:00Z); a time in the hour repeated in autumn is the first of the two (+03:00).
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';

const SECRET = 'a-webhook-secret-of-salesdrive-0123456789';
const newOrder = JSON.parse(readFileSync(new URL('../fixtures/salesdrive/new-order.json', import.meta.url), 'utf8'));
const delivery = (id: number, data: Record<string, unknown>) => {
  const payload = structuredClone(newOrder);
  Object.assign(payload.data, { id }, data);
  return payload;
};

const { app, sql, count } = await testApp(t, { salesdrive: { webhookSecret: SECRET, webhookRateLimit: 100_000 } });
const send = (payload: unknown) =>
  app.inject({ method: 'POST', url: `/api/v1/webhooks/salesdrive?token=${SECRET}`, payload: payload as object });
const orderDate = async (id: number) =>
  ((await sql`select order_date from orders where id = ${String(id)}`)[0]?.order_date as Date).toISOString();

/** Each Kyiv time delivered as a new order's orderTime (ids from `firstId`): accepted, and stored as the UTC instant given. */
async function storedAs(t: Test, firstId: number, cases: string[][]) {
  for (const [i, [time, utc]] of cases.entries()) {
    const response = await send(delivery(firstId + i, { orderTime: time }));
    t.equal(response.statusCode, 200, response.body);
    t.equal(await orderDate(firstId + i), utc, `${time} Kyiv is ${utc}`);
  }
}

t.test('spring, 2026-03-29: 03:00-03:59 Kyiv does not exist, a 400 naming the field, nothing stored', async (t) => {
  const orders = await count('orders');
  for (const [field, time] of [
    ['orderTime', '2026-03-29 03:00:00'],
    ['orderTime', '2026-03-29 03:30:00'],
    ['updateAt', '2026-03-29 03:59:59'],
  ] as const) {
    const response = await send(delivery(124001, { [field]: time }));
    t.equal(response.statusCode, 400, `${field} ${time}`);
    t.match(response.json(), {
      statusCode: 400,
      error: 'Bad Request',
      message: `data.${field} is not a valid time: "${time}" does not exist in Kyiv`,
    });
  }
  t.equal(await count('orders'), orders, 'nothing stored');
  t.equal((await send(delivery(124002, { orderTime: '2026-03-29 02:59:59' }))).statusCode, 200);
  t.equal(await orderDate(124002), '2026-03-29T00:59:59.000Z', 'the second before: winter time, +02:00');
  t.equal((await send(delivery(124003, { orderTime: '2026-03-29 04:00:00' }))).statusCode, 200);
  t.equal(await orderDate(124003), '2026-03-29T01:00:00.000Z', 'the hour after: summer time, +03:00');
});

t.test('autumn, 2026-10-25: 03:00-03:59 Kyiv comes twice, the first (+03:00) is taken', async (t) => {
  const cases = [
    ['2026-10-25 02:59:59', '2026-10-24T23:59:59.000Z'],
    ['2026-10-25 03:00:00', '2026-10-25T00:00:00.000Z'],
    ['2026-10-25 03:30:00', '2026-10-25T00:30:00.000Z'],
    ['2026-10-25 04:00:00', '2026-10-25T02:00:00.000Z'],
  ];
  await storedAs(t, 124010, cases);
});

t.test('a clock change within an hour of UTC (1924-05-02: Kyiv mean time, +02:02:04, to +02:00) is read as Intl reads it', async (t) => {
  // offsets are kept per hour of UTC; this hour's is not one offset, and its times are read one by one
  const cases = [
    ['1924-05-01 23:58:30', '1924-05-01T21:56:26.000Z'],
    ['1924-05-02 00:00:30', '1924-05-01T22:00:30.000Z'],
  ];
  await storedAs(t, 124020, cases);
});

t.test('a year below 100 is a 400 naming the field, nothing stored (Date.UTC read 0024 as 1924)', async (t) => {
  const orders = await count('orders');
  const response = await send(delivery(124030, { orderTime: '0024-05-01 10:00:00' }));
  t.equal(response.statusCode, 400);
  t.match(response.json(), { statusCode: 400, message: 'data.orderTime is not a valid time: "0024-05-01 10:00:00"' });
  t.equal(await count('orders'), orders, 'nothing stored');
});
