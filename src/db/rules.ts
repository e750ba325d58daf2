/**
 * The checks of src/db/schema.ts in words: which fields each one reads, what it asks of them, how
 * to tell which of them a row breaks, and the SQL that puts such a row right. Legacy rows may break
 * a check (it is then kept NOT VALID, see drizzle/0002_restructure.sql); the migration report and
 * `npm run db:check` name those rows, and the API names the broken fields of a row it is asked to
 * change (PostgreSQL checks a NOT VALID check again on every update of a row). A test checks that
 * every check of the schema is here.
 */
import { HttpError } from '../errors.js';
import { CATALOGUE_SYNC_STATES, CATALOGUE_SYNC_TRIGGERS, HISTORY_SOURCES, ROLES, SYNC_STATUSES } from './schema.js';

/** A row as the service reads it (camelCase); numeric columns come as decimal strings. */
export type RowValues = Record<string, unknown>;

export interface Rule {
  /** The constraint's name. */
  name: string;
  table: string;
  /** The fields the check reads: camelCase key, SQL column. */
  fields: { key: string; column: string }[];
  /** What a row must hold, in words. */
  requires: string;
  /** The keys of the fields this row breaks the check with (empty: it holds). NULL passes, as in SQL. */
  broken(row: RowValues): string[];
  /**
   * How to correct a row that breaks it, given its current values: the SET clause, and what to
   * check before running it. One row breaking several rules is corrected by one UPDATE that joins
   * their SET clauses: PostgreSQL checks every rule on each update of the row.
   */
  fix(row: RowValues): { set: string; note?: string };
}

const number = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
const jsonType = (v: unknown) =>
  v === null || v === undefined ? null : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;

function oneOf(name: string, table: string, key: string, column: string, values: readonly string[], fallback: string, why: string): Rule {
  return {
    name,
    table,
    fields: [{ key, column }],
    requires: `${column} is one of ${values.join(', ')}`,
    broken: (row) => {
      const value = row[key];
      return value === null || value === undefined || (typeof value === 'string' && values.includes(value)) ? [] : [key];
    },
    fix: () => ({ set: `${column} = '${fallback}'`, note: `${column}: '${fallback}', ${why}; or another of ${list(values)}` }),
  };
}

function notNegative(name: string, table: string, key: string, column: string, what: string): Rule {
  return {
    name,
    table,
    fields: [{ key, column }],
    requires: `${column} is 0 or more`,
    broken: (row) => {
      const n = number(row[key]);
      return n !== null && n < 0 ? [key] : [];
    },
    fix: () => ({ set: `${column} = 0`, note: `${column}: put the ${what} it really is (0 or more) in place of 0` }),
  };
}

export const RULES: Rule[] = [
  oneOf('users_role_check', 'users', 'role', 'role', ROLES, 'user', 'the least-privileged role'),
  {
    name: 'users_email_check',
    table: 'users',
    fields: [{ key: 'email', column: 'email' }],
    requires: 'email has no surrounding spaces and looks like name@domain',
    broken: (row) => {
      const email = row.email;
      if (typeof email !== 'string') return [];
      return email === email.trim() && /^.+@.+$/s.test(email) ? [] : ['email'];
    },
    fix: (row) => {
      const trimmed = typeof row.email === 'string' ? row.email.trim() : '';
      return /^.+@.+$/s.test(trimmed)
        ? {
            set: 'email = btrim(email)',
            note: 'email: the address without its spaces (refused if another user has it); the user then logs in with it',
          }
        : { set: `email = 'name@example.com'`, note: "email: put the user's real address in place of name@example.com" };
    },
  },
  notNegative('orders_quantity_check', 'orders', 'quantity', 'quantity', 'number of portions'),
  notNegative('orders_total_price_check', 'orders', 'totalPrice', 'total_price', 'total'),
  {
    name: 'orders_items_check',
    table: 'orders',
    fields: [{ key: 'items', column: 'items' }],
    requires: 'items is a JSON array',
    broken: (row) => (jsonType(row.items) === null || jsonType(row.items) === 'array' ? [] : ['items']),
    fix: () => ({
      set: 'items = jsonb_build_array(items)',
      note: "items: the value becomes the array's one element; or put the order's real lines",
    }),
  },
  oneOf('orders_sync_status_check', 'orders', 'syncStatus', 'sync_status', SYNC_STATUSES, 'pending', 'to be synced again'),
  oneOf('order_history_source_check', 'order_history', 'source', 'source', HISTORY_SOURCES, 'manual', 'a change made by hand'),
  oneOf(
    'catalogue_sync_runs_state_check',
    'catalogue_sync_runs',
    'state',
    'state',
    CATALOGUE_SYNC_STATES,
    'failed',
    'a run that did not finish',
  ),
  oneOf(
    'catalogue_sync_runs_trigger_check',
    'catalogue_sync_runs',
    'trigger',
    'trigger',
    CATALOGUE_SYNC_TRIGGERS,
    'manual',
    'asked for by hand',
  ),
  notNegative('products_cost_per_item_check', 'products', 'costPerItem', 'cost_per_item', 'price'),
  {
    name: 'products_currency_check',
    table: 'products',
    fields: [{ key: 'currency', column: 'currency' }],
    requires: 'currency is a three-letter ISO 4217 code in capitals (UAH)',
    broken: (row) => (typeof row.currency !== 'string' || /^[A-Z]{3}$/.test(row.currency) ? [] : ['currency']),
    fix: (row) => {
      const upper = typeof row.currency === 'string' ? row.currency.trim().toUpperCase() : '';
      return /^[A-Z]{3}$/.test(upper)
        ? { set: 'currency = upper(btrim(currency))' }
        : { set: `currency = 'UAH'`, note: "currency: 'UAH', hryvnias; or the code of the currency it is in" };
    },
  },
  {
    name: 'box_settings_portions_check',
    table: 'box_settings',
    fields: [
      { key: 'qntFrom', column: 'qnt_from' },
      { key: 'qntTo', column: 'qnt_to' },
      { key: 'overflow', column: 'overflow' },
    ],
    requires: 'qnt_from is 0 or more and at most qnt_to, and overflow is 0 or more',
    broken: (row) => {
      const [from, to, overflow] = [number(row.qntFrom), number(row.qntTo), number(row.overflow)];
      const fields: string[] = [];
      if (from !== null && from < 0) fields.push('qntFrom');
      if (from !== null && to !== null && from > to) fields.push(...(fields.includes('qntFrom') ? [] : ['qntFrom']), 'qntTo');
      if (overflow !== null && overflow < 0) fields.push('overflow');
      return fields;
    },
    fix: (row) => {
      const [from, to] = [number(row.qntFrom), number(row.qntTo)];
      return from !== null && to !== null && from > to && from >= 0 && to >= 0
        ? { set: 'qnt_from = qnt_to, qnt_to = qnt_from', note: "qnt_from, qnt_to: the range the right way round; or the box's real range" }
        : {
            set: 'qnt_from = greatest(qnt_from, 0), qnt_to = greatest(qnt_from, qnt_to, 0), overflow = greatest(overflow, 0)',
            note: "qnt_from, qnt_to, overflow: or the box's real range",
          };
    },
  },
  {
    name: 'box_settings_size_check',
    table: 'box_settings',
    fields: [
      { key: 'width', column: 'width' },
      { key: 'height', column: 'height' },
      { key: 'length', column: 'length' },
      { key: 'weight', column: 'weight' },
      { key: 'selfWeight', column: 'self_weight' },
    ],
    requires: 'width, height and length are more than 0; weight and self_weight are 0 or more',
    broken: (row) =>
      ['width', 'height', 'length']
        .filter((k) => {
          const n = number(row[k]);
          return n !== null && !(n > 0);
        })
        .concat(
          ['weight', 'selfWeight'].filter((k) => {
            const n = number(row[k]);
            return n !== null && n < 0;
          }),
        ),
    fix: () => ({
      set: 'width = greatest(width, 1), height = greatest(height, 1), length = greatest(length, 1), weight = greatest(weight, 0), self_weight = greatest(self_weight, 0)',
      note: "width, height, length, weight, self_weight: put the box's real sizes where these are not",
    }),
  },
  {
    name: 'wordpress_sku_cache_skus_check',
    table: 'wordpress_sku_cache',
    fields: [
      { key: 'skus', column: 'skus' },
      { key: 'totalCount', column: 'total_count' },
    ],
    requires: 'skus is a JSON array and total_count is 0 or more',
    broken: (row) => [
      ...(jsonType(row.skus) === null || jsonType(row.skus) === 'array' ? [] : ['skus']),
      ...(number(row.totalCount) !== null && number(row.totalCount)! < 0 ? ['totalCount'] : []),
    ],
    fix: (row) =>
      jsonType(row.skus) === 'object'
        ? {
            set: "skus = (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]') FROM jsonb_object_keys(skus) AS k), total_count = (SELECT count(*) FROM jsonb_object_keys(skus))",
            note: "skus: the object's keys become the SKU list",
          }
        : {
            set: `skus = CASE WHEN jsonb_typeof(skus) = 'array' THEN skus ELSE '[]' END, total_count = CASE WHEN jsonb_typeof(skus) = 'array' THEN jsonb_array_length(skus) ELSE 0 END`,
            note: 'skus: an empty list where it is not a list; the next WordPress sync fills it',
          },
  },
  {
    name: 'shop_settings_one_row_check',
    table: 'shop_settings',
    fields: [{ key: 'id', column: 'id' }],
    requires: 'id is 1: the shop has one row of settings',
    broken: (row) => (number(row.id) === null || number(row.id) === 1 ? [] : ['id']),
    fix: () => ({ set: 'id = 1', note: 'id: refused while the row with id 1 exists; delete this row instead' }),
  },
  {
    name: 'shop_settings_weight_tolerance_check',
    table: 'shop_settings',
    fields: [
      { key: 'weightTolerancePercent', column: 'weight_tolerance_percent' },
      { key: 'weightToleranceGrams', column: 'weight_tolerance_grams' },
    ],
    requires: 'weight_tolerance_percent is 0 to 100 and weight_tolerance_grams is 0 or more',
    broken: (row) => {
      const [percent, grams] = [number(row.weightTolerancePercent), number(row.weightToleranceGrams)];
      return [
        ...(percent !== null && (percent < 0 || percent > 100) ? ['weightTolerancePercent'] : []),
        ...(grams !== null && grams < 0 ? ['weightToleranceGrams'] : []),
      ];
    },
    fix: () => ({
      set: 'weight_tolerance_percent = least(greatest(weight_tolerance_percent, 0), 100), weight_tolerance_grams = greatest(weight_tolerance_grams, 0)',
      note: "the shop's real tolerance in place of the nearest allowed values",
    }),
  },
];

export const rulesOf = (table: string) => RULES.filter((rule) => rule.table === table);
export const ruleNamed = (name: string) => RULES.find((rule) => rule.name === name);

/** A field of a row that breaks a rule, as the API names it. */
export interface BrokenField {
  field: string;
  value: unknown;
  rule: string;
  requires: string;
}

/** Every field of `row` (camelCase, as the service reads it) of `table` that breaks one of its rules. */
/** The keys (camelCase) of the fields the rules of `table` read. */
export const ruleKeysOf = (table: string) => [...new Set(rulesOf(table).flatMap((rule) => rule.fields.map((f) => f.key)))];

export function brokenFields(table: string, row: RowValues): BrokenField[] {
  return rulesOf(table).flatMap((rule) =>
    rule.broken(row).map((field) => ({ field, value: row[field] ?? null, rule: rule.name, requires: rule.requires })),
  );
}

/** `quantity is -1, email is " a@b "`: for messages (long values cut). */
export const describeBrokenFields = (fields: BrokenField[]) =>
  fields
    .map((f) => {
      const text = JSON.stringify(f.value) ?? 'null';
      return `${f.field} is ${text.length > 80 ? `${text.slice(0, 80)}…` : text} (${f.rule}: ${f.requires})`;
    })
    .join('; ');

/** Why a request is refused when a row it would write breaks rules: its status, code, and message around the fields described. */
export interface RuleRefusal {
  status: number;
  code: string;
  message: (described: string) => string;
}

/**
 * A row of `table` that a change (`values` over `before`) would leave breaking a rule is refused,
 * naming every such field with its value and rule. When the change sends one of those fields, or
 * breaks a rule the row kept until now, it is the request's fault: 400 CHECK_VIOLATION, as a POST
 * is told. Otherwise the row broke the rule before (legacy data: the rule is kept NOT VALID, and
 * PostgreSQL checks it again on every update of the row): refused with `refusal`, every such field
 * in `fields` of the answer, so that it can be corrected in one go.
 */
export function assertKeepsRules(table: string, before: RowValues, values: RowValues, refusal: RuleRefusal) {
  const fields = brokenFields(table, { ...before, ...values });
  if (!fields.length) return;
  const brokenBefore = new Set(brokenFields(table, before).map((f) => f.rule));
  const byThisChange = fields.filter((f) => f.field in values || !brokenBefore.has(f.rule));
  if (byThisChange.length)
    throw new HttpError(400, 'CHECK_VIOLATION', `The values sent break a rule: ${describeBrokenFields(byThisChange)}`);
  throw new HttpError(refusal.status, refusal.code, refusal.message(describeBrokenFields(fields)), {}, fields);
}
