/**
 * What each step of the chain renames, creates and drops, read from the data beside it:
 * drizzle/plans/<tag>.json (no file: the step renames and drops nothing). The same file is the plan
 * scripts/generate-migration.mjs answers drizzle-kit's prompts from, and test/migrations/plans.test.ts
 * fails when a migration or its down file renames or drops something its plan does not say.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readChain } from '../../db/ledger.js';
import { MIGRATIONS_FOLDER } from '../../db/migrations-folder.js';

/** A table as `name`, a column as `table.name`; each with why it is dropped (said to the operator; may be empty). */
type Names = Record<string, string>;

export interface StepPlan {
  /** Tables the step renames: old name → new. */
  tables?: Record<string, string>;
  /** Columns the step renames, by the table's name after the step: old name → new. */
  columns?: Record<string, Record<string, string>>;
  /** Tables and columns the step creates (drizzle-kit is told they are new, not renamed); its down file drops them. */
  create?: Names;
  /** Tables and columns the step drops. */
  drop?: Names;
}

export const planFile = (tag: string) => `${MIGRATIONS_FOLDER}/plans/${tag}.json`;

const plans = new Map<string, StepPlan>();
/** The plan of one step of this build's chain, read once; a file of the chain's own, read as the shape it is written in. */
export function planOf(tag: string): StepPlan {
  let plan = plans.get(tag);
  if (!plan) {
    const file = planFile(tag);
    plan = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StepPlan) : {};
    plans.set(tag, plan);
  }
  return plan;
}

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

/** `table` or `table.column`, dropped, with its note. */
function dropped(names: Names | undefined): StepChanges {
  const changes: StepChanges = { tables: [], columns: [] };
  for (const [key, note] of Object.entries(names ?? {})) {
    const dot = key.indexOf('.');
    const change = { becomes: null, ...(note ? { note } : {}) };
    if (dot < 0) changes.tables.push({ name: key, ...change });
    else changes.columns.push({ name: key.slice(dot + 1), table: key.slice(0, dot), ...change });
  }
  return changes;
}

/** Up: what the step renames and drops, under the names they have before it. */
export function upChanges(tag: string): StepChanges {
  const plan = planOf(tag);
  const tables = plan.tables ?? {};
  const before = (table: string) => Object.entries(tables).find(([, renamed]) => renamed === table)?.[0] ?? table;
  const drops = dropped(plan.drop);
  return {
    tables: [...Object.entries(tables).map(([name, becomes]) => ({ name, becomes })), ...drops.tables],
    columns: [
      ...Object.entries(plan.columns ?? {}).flatMap(([table, renames]) =>
        Object.entries(renames).map(([name, becomes]) => ({ name, becomes, table: before(table) })),
      ),
      ...drops.columns,
    ],
  };
}

/** Down: what reverting the step renames back and drops (what the step created), under the names they have after it. */
export function downChanges(tag: string): StepChanges {
  const plan = planOf(tag);
  const drops = dropped(plan.create);
  return {
    tables: [...Object.entries(plan.tables ?? {}).map(([becomes, name]) => ({ name, becomes })), ...drops.tables],
    columns: [
      ...Object.entries(plan.columns ?? {}).flatMap(([table, renames]) =>
        Object.entries(renames).map(([becomes, name]) => ({ name, becomes, table })),
      ),
      ...drops.columns,
    ],
  };
}

/** Every table the chain touches, under every name it has had. */
export const chainTableNames = () => [
  ...new Set(
    readChain().flatMap(({ tag }) => {
      const plan = planOf(tag);
      return [
        ...Object.entries(plan.tables ?? {}).flat(),
        ...dropped(plan.drop).tables.map((c) => c.name),
        ...dropped(plan.create).tables.map((c) => c.name),
      ];
    }),
  ),
];

/** The business tables the chain renames, under their first and last names (legacy → current), in the order of the plans. */
export function renamedTables(): { legacy: string; current: string }[] {
  const renames = readChain().map(({ tag }) => planOf(tag).tables ?? {});
  return renames.flatMap((tables, step) =>
    Object.entries(tables)
      // a table renamed again later is named by its last rename; one renamed back from an earlier name is not new
      .filter(([legacy]) => !renames.slice(0, step).some((earlier) => Object.values(earlier).includes(legacy)))
      .map(([legacy, next]) => ({ legacy, current: renames.slice(step + 1).reduce((name, later) => later[name] ?? name, next) })),
  );
}

/** Column renames over the whole chain, by current table name: legacy column → current. */
export function renamedColumns(): Record<string, Record<string, string>> {
  const result: Record<string, Record<string, string>> = {};
  for (const { tag } of readChain()) {
    for (const [table, renames] of Object.entries(planOf(tag).columns ?? {})) {
      const columns = (result[table] ??= {});
      for (const [from, to] of Object.entries(renames)) {
        const legacy = Object.entries(columns).find(([, current]) => current === from)?.[0] ?? from;
        columns[legacy] = to;
      }
    }
  }
  return result;
}

/** Tables (`name`) and columns (`table` and `name`) the steps of the chain create, each with why a rollback past its step does not keep it. */
export const createdNames = () =>
  readChain().flatMap(({ tag }) => {
    const created = dropped(planOf(tag).create);
    return [...created.tables, ...created.columns];
  });

/** Tables a step of the chain drops, each with why. */
export const droppedTables = () => readChain().flatMap(({ tag }) => dropped(planOf(tag).drop).tables);
