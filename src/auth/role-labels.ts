/** What each role is called in the shop's language: the old back office showed it beside each user (users.role_name). */
import type { Role } from '../db/schema.js';

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'Адміністратор',
  boss: 'Бос',
  'shop-manager': 'Менеджер магазину',
  'ads-manager': 'Менеджер з реклами',
  storekeeper: 'Комірник',
  user: 'Користувач',
};
