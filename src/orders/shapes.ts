/** The shapes of an order that several routes share: its phone and sync status, a history entry. */
import { Type } from 'typebox';
import { SYNC_STATUSES } from '../db/schema.js';
import { Nullable, OneOf, Timestamp } from '../schemas.js';

export const SYNC_STATUS_MEANING =
  'where its status stands with SalesDrive: pending (a change on its way), error (see syncError), success (delivered). ' +
  'Without SALESDRIVE_URL nothing is sent and this is not kept up: an order created here stays pending, meaning not sent to SalesDrive';
export const SyncStatus = OneOf(SYNC_STATUSES, { description: SYNC_STATUS_MEANING });
export const Phone = Type.String({ pattern: '^\\+?[0-9 ()-]{3,32}$' });

export const HistoryItem = Type.Object(
  {
    id: Type.String(),
    orderId: Type.String(),
    status: Type.String(),
    statusText: Type.String(),
    changedAt: Timestamp,
    source: Type.String(),
    userId: Nullable(Type.Integer()),
    notes: Nullable(Type.String()),
  },
  {
    $id: 'OrderHistory',
    title: 'Order history entry',
    examples: [
      {
        id: '5f0c2a8e-3b1d-4e0a-9c57-2d6f1e8b4a90',
        orderId: '123457',
        status: '4',
        statusText: 'Відправлено',
        changedAt: '2026-11-30T14:02:11.000Z',
        source: 'manual',
        userId: 3,
        notes: 'Передано Новій Пошті, ТТН 20450912345678',
      },
    ],
  },
);
