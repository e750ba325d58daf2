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

export const OrderStatus = Type.String({
  pattern: '^[0-9]{1,3}$',
  description: "SalesDrive status id: 1 new … 8 deleted, 9 on hold, and the shop's own",
});

/** The label of a status: the one given, else the known one, else `Статус <id>` (a status of the shop's own SalesDrive sent without its text). */
export const statusLabel = (status: string, given?: string) => given ?? STATUS_TEXT[status] ?? `Статус ${status}`;

/** The label the caller of the API gave, or the known label of the status; an unknown status needs a label. */
export function statusTextOf(status: unknown, given: unknown): string {
  if (typeof given === 'string') return given;
  const known = STATUS_TEXT[String(status)];
  if (!known) throw new HttpError(400, 'FST_ERR_VALIDATION', `body.statusText is required for status ${String(status)}`);
  return known;
}
