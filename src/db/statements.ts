/**
 * Statements whose SQL is built once, with placeholders for what changes, and run in whichever
 * session is given: the pool's, or a transaction's. drizzle's `.prepare()` binds a statement to the
 * session it was built on, and a transaction's session is new every time, so what runs inside one
 * was built again on every request (a third of a SalesDrive delivery's CPU, issue 26). Run named,
 * postgres.js prepares each once per connection: one round trip, not two (behind a transaction
 * pooler every statement goes unnamed, these too).
 */
import type { Query, SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { CASING, rowsOf, type Db, type Tx } from './client.js';

const dialect = new PgDialect({ casing: CASING });

/**
 * Statements built once per shape (which columns a write sets, say), at most `max` of them: a shape
 * past those is built for its request alone and sent unnamed, so that no caller can grow the cache,
 * or each connection's prepared statements, without bound. `build` may use either session's builders:
 * only the SQL it returns is kept, and what drizzle computes while building (a column's `$onUpdate`
 * or `$defaultFn`) is computed once: give such values as placeholders.
 */
export class StatementsByShape {
  private readonly built = new Map<string, Query>();
  constructor(
    private readonly name: string,
    private readonly build: (db: Db | Tx, shape: string) => SQL,
    private readonly max = 32,
  ) {}

  /** Runs the statement of `shape` with its placeholders' values; its rows as the database answers them (no mapping, as `execute`). */
  async run<T>(db: Db | Tx, shape: string, values: Record<string, unknown>): Promise<T[]> {
    let query = this.built.get(shape);
    let name: string | undefined = `${this.name}_${shape}`;
    if (!query) {
      query = dialect.sqlToQuery(this.build(db, shape));
      if (this.built.size < this.max) this.built.set(shape, query);
      else name = undefined;
    }
    return rowsOf<T>(await db._.session.prepareQuery(query, undefined, name, false).execute(values));
  }
}
