/**
 * Statements whose SQL is built once, with placeholders for what changes, and run in whichever
 * session is given: the pool's, or a transaction's. drizzle's `.prepare()` binds a statement to the
 * session it was built on, and a transaction's session is new every time, so what runs inside one
 * was built again on every request (a third of a SalesDrive delivery's CPU, issue 26). Run named,
 * postgres.js prepares each once per connection: one round trip, not two (behind a transaction
 * pooler every statement goes unnamed, these too).
 */
import { sql, type Query, type SQL } from 'drizzle-orm';
import { PgDialect, type PgColumn, type SelectedFieldsOrdered } from 'drizzle-orm/pg-core';
import { CASING, rowsOf, type Db, type Tx } from './client.js';

const dialect = new PgDialect({ casing: CASING });

/**
 * The columns a write sets, as its statement's shape: `column` for a value, `column=null` for NULL
 * (written into the SQL: a placeholder's value goes through the column's encoder, which turns null
 * into JSON's null or fails on it). A column left undefined keeps its default, or its value.
 */
export const writeShape = (values: Record<string, unknown>) =>
  Object.keys(values)
    .filter((key) => values[key] !== undefined)
    .map((key) => (values[key] === null ? `${key}=null` : key))
    .join(',');

/** The values of a write built once for `shape` (writeShape): a placeholder named after each column, or NULL. */
export const writePlaceholders = <Values>(shape: string) =>
  Object.fromEntries(
    shape
      .split(',')
      .map((column) => (column.endsWith('=null') ? [column.slice(0, -'=null'.length), sql`null`] : [column, sql.placeholder(column)])),
  ) as Values;

/** What a statement selects: columns, or SQL of its own (mapped with its `mapWith`). */
type Selection = Record<string, PgColumn | SQL | SQL.Aliased>;
/** A selection in the order drizzle maps a row's values to it (its builders' `orderSelectedFields`), made once per selection. */
const orderedSelections = new WeakMap<Selection, SelectedFieldsOrdered>();
function ordered(fields: Selection): SelectedFieldsOrdered {
  let known = orderedSelections.get(fields);
  if (!known) orderedSelections.set(fields, (known = Object.entries(fields).map(([key, field]) => ({ path: [key], field }))));
  return known;
}

export interface ShapeOptions {
  /**
   * false: sent unnamed, planned for the values of each run. A named statement may be run with a
   * generic plan after five runs, made once for any values and under the planner settings of
   * then: not for a statement whose plan depends on its values or on settings changed around it.
   */
  named?: boolean;
  /** At most this many shapes are kept. */
  max?: number;
}

/**
 * Statements built once per shape (which columns a write sets, a list's sort and order …), at most
 * `max` of them: a shape past those, or none (`undefined`), is built for its call alone and sent
 * unnamed, so that no caller can grow the cache, or each connection's prepared statements, without
 * bound. `build` may use either session's builders: only the SQL it returns is kept, and what
 * drizzle computes while building (a column's `$onUpdate` or `$defaultFn`) is computed once: give
 * such values as placeholders.
 */
export class StatementsByShape<Context> {
  private readonly built = new Map<string, Query>();
  private readonly named: boolean;
  private readonly max: number;
  constructor(
    private readonly name: string,
    private readonly build: (db: Db | Tx, context: Context) => SQL,
    { named = true, max = 32 }: ShapeOptions = {},
  ) {
    this.named = named;
    this.max = max;
  }

  /**
   * Runs the statement of `shape` (built from `context` the first time) with its placeholders'
   * values. Its rows as the database answers them (as `execute`), or, given the columns it selects
   * (`fields`, in its order), as objects of their values (as `select`).
   */
  async run<T>(
    db: Db | Tx,
    shape: string | undefined,
    context: Context,
    values: Record<string, unknown>,
    fields?: Selection,
  ): Promise<T[]> {
    let query = shape === undefined ? undefined : this.built.get(shape);
    let name = shape !== undefined && this.named ? `${this.name}_${shape}` : undefined;
    if (!query) {
      query = dialect.sqlToQuery(this.build(db, context));
      if (shape !== undefined && this.built.size < this.max) this.built.set(shape, query);
      else name = undefined;
    }
    const selection = fields && ordered(fields);
    const result = await db._.session.prepareQuery(query, selection, name, selection !== undefined).execute(values);
    return selection ? (result as T[]) : rowsOf<T>(result);
  }
}
