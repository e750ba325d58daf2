/** SalesDrive's order statuses: the id travels as text, with its Ukrainian label. */
import { Type } from 'typebox';
import { HttpError } from '../errors.js';

export const STATUS_TEXT: Record<string, string> = {
  '1': 'Новий',
  '2': 'Підтверджено',
  '3': 'На відправку',
  '4': 'Відправлено',
  '5': 'Продаж',
  '6': 'Відмова',
  '7': 'Повернення',
  '8': 'Видалений',
  '9': 'На утриманні',
};

export const OrderStatus = Type.String({ pattern: '^[0-9]{1,3}$', description: "SalesDrive status id: 1 new … 8 deleted, 9 on hold, and the shop's own" });

/** The label the caller gave, or the known label of the status; an unknown status needs a label. */
export function statusTextOf(status: unknown, given: unknown): string {
  if (typeof given === 'string') return given;
  const known = STATUS_TEXT[String(status)];
  if (!known) throw new HttpError(400, 'FST_ERR_VALIDATION', `body.statusText is required for status ${String(status)}`);
  return known;
}
