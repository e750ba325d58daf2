/**
 * Statements whose SQL is built once, with placeholders for what changes, and run in whichever
 * session is given: the pool's, or a transaction's. drizzle's `.prepare()` binds a statement to the
 * session it was built on, and a transaction's session is new every time, so what runs inside one
 * was built again on every request (a third of a SalesDrive delivery's CPU, issue 26). Run named,
 * postgres.js prepares each once per connection: one round trip, not two (behind a transaction
 * pooler every statement goes unnamed, these too).
 */
import { Column, is, noopDecoder, Param, Placeholder, sql, SQL, type DriverValueDecoder, type Query } from 'drizzle-orm';
import { PgDialect, type PgColumn } from 'drizzle-orm/pg-core';
import { CASING, rowsOf, type Db, type Tx } from './client.js';

const dialect = new PgDialect({ casing: CASING });
/** A run's values, by placeholder name. */
type Values = Record<string, unknown>;

/**
 * The columns a write sets, as its statement's shape: `column` for a value, `column=null` for NULL
 * (written into the SQL: a placeholder's value goes through the column's encoder, which turns null
 * into JSON's null or fails on it). A column left undefined keeps its default, or its value.
 */
export function writeShape(values: Values) {
  let shape = '';
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) shape += `${shape ? ',' : ''}${value === null ? `${key}=null` : key}`;
  }
  return shape;
}

/** The values of a write built once for `shape` (writeShape): a placeholder named after each column, or NULL. */
export const writePlaceholders = <Columns>(shape: string) =>
  Object.fromEntries(
    shape
      .split(',')
      .map((column) => (column.endsWith('=null') ? [column.slice(0, -'=null'.length), sql`null`] : [column, sql.placeholder(column)])),
  ) as Columns;

/** What a statement selects: columns, or SQL of its own (mapped with its `mapWith`). */
type Selection = Record<string, PgColumn | SQL | SQL.Aliased>;
type Decoded = { decoder: DriverValueDecoder<unknown, unknown> };
/** Rows as the driver answers them in array mode, made objects of `Selection`'s keys. */
type RowMapper = (rows: unknown[][]) => Record<string, unknown>[];

/**
 * A selection's mapper, made once per selection: what drizzle's `mapResultRow` does for a flat
 * selection (a decoder per column, NULL kept), without finding each field's kind and path again on
 * every row (with running the statement, 0.020 ms of a read by id's 0.311: bench/RESULTS.md). A decoder
 * that changes nothing is skipped.
 */
const mappers = new WeakMap<Selection, RowMapper>();
function mapperOf(fields: Selection): RowMapper {
  let known = mappers.get(fields);
  if (known) return known;
  const keys = Object.keys(fields);
  const decoders = Object.values(fields).map((field): DriverValueDecoder<unknown, unknown> | undefined => {
    // SQL's decoder is what mapWith set (drizzle's types leave it out)
    const decoder = is(field, Column) ? field : ((is(field, SQL) ? field : field.sql) as unknown as Decoded).decoder;
    // a column type that keeps the driver's value as it is does not override Column's own
    const keeps = decoder === noopDecoder || (is(decoder, Column) && decoder.mapFromDriverValue === Column.prototype.mapFromDriverValue);
    return keeps ? undefined : decoder;
  });
  known = (rows) =>
    rows.map((values) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const value = values[i];
        const decoder = decoders[i];
        row[keys[i]!] = value === null || decoder === undefined ? value : decoder.mapFromDriverValue(value);
      }
      return row;
    });
  mappers.set(fields, known);
  return known;
}

/** A statement built once: its SQL, and how its parameters are made of a run's values. */
interface Built {
  sql: string;
  fill: (values: Values) => unknown[];
}

/**
 * How a query's parameters are made of a run's values, worked out once: what drizzle's
 * fillPlaceholders works out again on every run (each parameter's kind, by `is()` up its prototype
 * chain: 17 µs of a SalesDrive delivery's 26 parameters, bench/RESULTS.md).
 */
function built(query: Query): Built {
  const fillers = query.params.map((param): ((values: Values) => unknown) => {
    const encoded = is(param, Param) && is(param.value, Placeholder);
    const placeholder = encoded ? (param.value as Placeholder) : is(param, Placeholder) ? param : undefined;
    if (!placeholder) return () => param;
    const { name } = placeholder;
    const encoder = encoded ? param.encoder : undefined;
    return (values) => {
      if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
      return encoder ? encoder.mapToDriverValue(values[name]) : values[name];
    };
  });
  return { sql: query.sql, fill: (values) => fillers.map((fill) => fill(values)) };
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
  private readonly built = new Map<string, Built>();
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
  async run<T>(db: Db | Tx, shape: string | undefined, context: Context, values: Values, fields?: Selection): Promise<T[]> {
    let statement = shape === undefined ? undefined : this.built.get(shape);
    let name = shape !== undefined && this.named ? `${this.name}_${shape}` : undefined;
    if (!statement) {
      statement = built(dialect.sqlToQuery(this.build(db, context)));
      if (shape !== undefined && this.built.size < this.max) this.built.set(shape, statement);
      else name = undefined;
    }
    const mapper = fields && mapperOf(fields);
    const query = { sql: statement.sql, params: statement.fill(values) };
    const result = await db._.session.prepareQuery(query, undefined, name, mapper !== undefined, mapper).execute();
    return mapper ? (result as T[]) : rowsOf<T>(result);
  }
}
