/**
 * The database drivers' errors, read in one place. What a driver threw usually arrives wrapped:
 * drizzle's DrizzleQueryError (whose message lists the query's parameters) holds it as `cause`, and
 * so does this service's CommitOutcomeUnknown. Every reader walks the same chain, with `causes`.
 */
import { fieldOf } from '../field-of.js';

/** The error, then each `cause` below it, nearest first; five deep at most (a cycle of causes ends there). */
export function* causes(error: unknown): Generator<unknown, void, undefined> {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    yield e;
    e = typeof e === 'object' && 'cause' in e ? e.cause : undefined;
  }
}

function textOf(error: unknown, key: string): string | undefined {
  const value = fieldOf(error, key);
  return typeof value === 'string' ? value : undefined;
}

/**
 * A driver's error in one shape: postgres.js's PostgresError names the object `constraint_name`,
 * `table_name`, `column_name`, PGlite's DatabaseError `constraint`, `table`, `column`. `code` is
 * PostgreSQL's SQLSTATE, or a connection failure's (ECONNREFUSED, CONNECT_TIMEOUT…).
 */
export interface DriverError {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

/** The first error down the chain that carries a code: the driver's. */
export function driverErrorOf(error: unknown, accept: (code: string) => boolean = () => true): DriverError | undefined {
  for (const e of causes(error)) {
    const code = textOf(e, 'code');
    if (!(e instanceof Error) || code === undefined || !accept(code)) continue;
    return {
      code,
      message: e.message,
      detail: textOf(e, 'detail'),
      hint: textOf(e, 'hint'),
      constraint: textOf(e, 'constraint_name') ?? textOf(e, 'constraint'),
      table: textOf(e, 'table_name') ?? textOf(e, 'table'),
      column: textOf(e, 'column_name') ?? textOf(e, 'column'),
    };
  }
  return undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** What PostgreSQL itself reported (a SQLSTATE), down the chain; not a connection failure. */
export const databaseErrorOf = (error: unknown) => driverErrorOf(error, (code) => SQLSTATE.test(code));
