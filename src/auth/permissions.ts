/**
 * Who may do what: one table. A resource's actions are read, create, update and delete; every
 * route names its resource and action, and one hook (plugins/auth.ts) checks this table.
 * Users may also read and update their own profile (routes/users.ts), whatever this table says.
 */
import { isRole, type Role } from '../db/schema.js';

export type Resource = 'users' | 'orders' | 'orderHistory' | 'products' | 'boxSettings' | 'wordpressSkuCache' | 'shopSettings' | 'feeds';
export type Action = 'read' | 'create' | 'update' | 'delete';

type Grants = Record<Resource, Action[]>;
const ALL: Action[] = ['read', 'create', 'update', 'delete'];
const READ: Action[] = ['read'];
const WRITE: Action[] = ['read', 'create', 'update'];
/** order_history is append-only: no route updates or deletes it. */
const APPEND: Action[] = ['read', 'create'];
/** The shop's settings are one row: read and changed, never created or deleted. */
const SETTINGS: Action[] = ['read', 'update'];
/** The feeds' runs (the catalogue sync from Dilovod, the reconciliation with SalesDrive): started (create) and watched; never edited. */
const RUNS: Action[] = ['read', 'create'];

export const PERMISSIONS: Record<Role, Grants> = {
  admin: {
    users: ALL,
    orders: ALL,
    orderHistory: APPEND,
    products: ALL,
    boxSettings: ALL,
    wordpressSkuCache: ALL,
    shopSettings: SETTINGS,
    feeds: RUNS,
  },
  boss: {
    users: [],
    orders: ALL,
    orderHistory: APPEND,
    products: ALL,
    boxSettings: ALL,
    wordpressSkuCache: ALL,
    shopSettings: READ,
    feeds: READ,
  },
  'shop-manager': {
    users: [],
    orders: WRITE,
    orderHistory: APPEND,
    products: WRITE,
    boxSettings: READ,
    wordpressSkuCache: WRITE,
    shopSettings: READ,
    feeds: [],
  },
  'ads-manager': {
    users: [],
    orders: READ,
    orderHistory: READ,
    products: READ,
    boxSettings: READ,
    wordpressSkuCache: READ,
    shopSettings: READ,
    feeds: [],
  },
  storekeeper: {
    users: [],
    orders: ['read', 'update'],
    orderHistory: APPEND,
    products: READ,
    boxSettings: ['read', 'update'],
    wordpressSkuCache: READ,
    shopSettings: READ,
    feeds: [],
  },
  user: {
    users: [],
    orders: READ,
    orderHistory: READ,
    products: READ,
    boxSettings: READ,
    wordpressSkuCache: READ,
    shopSettings: READ,
    feeds: [],
  },
};

export function may(role: string, resource: Resource, action: Action): boolean {
  return isRole(role) && PERMISSIONS[role][resource].includes(action);
}
