/** A staff account as the API shows it, and the e-mail and password it is created and logged in with. */
import { Type } from 'typebox';
import { Nullable, Timestamp } from '../schemas.js';

export const User = Type.Object(
  {
    id: Type.Integer(),
    email: Type.String(),
    name: Nullable(Type.String()),
    role: Type.String(),
    roleName: Nullable(Type.String()),
    isActive: Type.Boolean(),
    lastActivityAt: Nullable(Timestamp),
    lastLoginAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  {
    $id: 'User',
    title: 'User',
    examples: [
      {
        id: 36,
        email: 'sklad.lviv@nk-food.shop',
        name: 'Ірина Коваль',
        role: 'storekeeper',
        roleName: 'Комірник',
        isActive: true,
        lastActivityAt: '2026-11-30T07:02:40.000Z',
        lastLoginAt: '2026-11-30T07:02:40.000Z',
        createdAt: '2026-11-28T12:30:00.000Z',
        updatedAt: '2026-11-30T07:02:40.000Z',
      },
    ],
  },
);

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 8, maxLength: 200, description: '8 to 200 characters' });
