/**
 * What each step of the chain renames and drops: the names an operator's object may use that a
 * pending step changes, and every table the chain touches under every name it has had.
 */
import { readFileSync } from 'node:fs';
import { MIGRATIONS_FOLDER } from '../../db/migrations-folder.js';

export interface Plan {
  tables: Record<string, string>;
  columns: Record<string, Record<string, string>>;
}
let plan: Plan | undefined;
/** The renames of the restructuring (0001 and 0002), as drizzle-kit was told them. */
// a file of this build's own chain, read as the shape it is written in
export const PLAN = () => (plan ??= JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/plans/0001_restructure.json`, 'utf8')) as Plan);

/** A name that a step changes: what it becomes (null: dropped), and on which table for a column. */
export interface NameChange {
  name: string;
  becomes: string | null;
  table?: string;
  note?: string;
}

export interface StepChanges {
  tables: NameChange[];
  columns: NameChange[];
}

export const REFRESH_SLOT = ['refresh_token_hash', 'refresh_token_expires_at', 'previous_refresh_token_hash', 'refresh_token_rotated_at'];
export const legacyTable = (current: string) => Object.entries(PLAN().tables).find(([, t]) => t === current)?.[0] ?? current;

/** Up: the steps that rename or drop what an operator's object can name, by tag. */
export function upChanges(tag: string): StepChanges {
  if (tag.startsWith('0001_')) return { tables: Object.entries(PLAN().tables).map(([name, becomes]) => ({ name, becomes })), columns: [] };
  if (tag.startsWith('0002_')) {
    return {
      tables: [
        { name: 'refresh_tokens', becomes: null, note: 'each user\'s unexpired refresh token moves into users.sessions' },
        { name: 'DilovodData', becomes: null, note: 'test data, unused' },
        { name: 'SalesDriveData', becomes: null, note: 'test data, unused' },
      ],
      columns: Object.entries(PLAN().columns).flatMap(([table, renames]) =>
        Object.entries(renames).map(([name, becomes]) => ({ name, becomes, table: legacyTable(table) }))),
    };
  }
  if (tag.startsWith('0005_')) {
    return { tables: [], columns: REFRESH_SLOT.map((name) => ({ name, becomes: null, table: 'users', note: 'the sessions are in users.sessions' })) };
  }
  return { tables: [], columns: [] };
}

/** Down: what reverting the step renames back or drops. */
export function downChanges(tag: string): StepChanges {
  if (tag.startsWith('0007_')) return { tables: [{ name: 'shop_settings', becomes: null, note: 'the legacy schema has no shop settings' }], columns: [] };
  if (tag.startsWith('0006_')) return { tables: [], columns: [{ name: 'salesdrive_updated_at', becomes: null, table: 'orders' }] };
  if (tag.startsWith('0005_')) {
    return {
      tables: [{ name: 'rate_limits', becomes: null, note: 'login-attempt counters' }],
      columns: ['sessions', 'token_version'].map((name) => ({ name, becomes: null, table: 'users', note: 'one refresh-token slot per user again' })),
    };
  }
  if (tag.startsWith('0002_')) {
    return {
      tables: [],
      columns: [
        ...Object.entries(PLAN().columns).flatMap(([table, renames]) =>
          Object.entries(renames).map(([becomes, name]) => ({ name, becomes, table }))),
        ...REFRESH_SLOT.map((name) => ({ name, becomes: null, table: 'users', note: 'the legacy schema keeps tokens in refresh_tokens' })),
      ],
    };
  }
  if (tag.startsWith('0001_')) return { tables: Object.entries(PLAN().tables).map(([becomes, name]) => ({ name, becomes })), columns: [] };
  return { tables: [], columns: [] };
}

/** Every table the chain touches, under every name it has had. */
export const chainTableNames = () => [
  ...Object.entries(PLAN().tables).flat(),
  'refresh_tokens', 'DilovodData', 'SalesDriveData', 'rate_limits', 'shop_settings',
];
