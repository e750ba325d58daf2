/** The database a command works on, in words that name no password, and what went wrong reaching it. */
import { maskedUrl } from '../config.js';
import { fieldOf } from '../field-of.js';
import type { DatabaseTarget } from './client.js';
import { causes, driverErrorOf } from './driver-errors.js';

/** Which database, in words that name no password. */
export const describeTarget = (target: DatabaseTarget) =>
  'url' in target
    ? `PostgreSQL (${URL.canParse(target.url) ? new URL(target.url).host : 'DATABASE_URL is not a valid URL'})`
    : `PGlite in ${target.dataDir}`;

/** The server cannot be reached, or refuses these credentials or this database name. */
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'CONNECT_TIMEOUT',
  '28P01',
  '28000',
  '3D000', // invalid password, authorization (no such role), no such database
]);

/** What went wrong, in the database's own words; a connection that failed names DATABASE_URL. */
export function databaseProblem(error: unknown, target: DatabaseTarget): string {
  const db = driverErrorOf(error);
  const unreachable = 'url' in target && db !== undefined && CONNECTION_FAILURES.has(db.code);
  if (unreachable) return `Cannot connect with DATABASE_URL (${maskedUrl(target.url)}): ${db.message}`;
  // PgBouncer refuses the session settings the pool sends at connect (statement_timeout) unless told it is one
  if ('url' in target && !target.transactionPooler && db?.message.startsWith('unsupported startup parameter')) {
    return (
      `${db.message}\nDATABASE_URL points at PgBouncer (or another transaction pooler), which takes no session settings: ` +
      'set DATABASE_TRANSACTION_POOLER=true, and DIRECT_DATABASE_URL to PostgreSQL itself for the migrator (README, "Behind PgBouncer").'
    );
  }
  // not the wrapper's message: drizzle's lists the query's parameters
  const message = db?.message ?? fieldOf([...causes(error)].at(-1), 'message');
  return typeof message === 'string' ? message : String(error);
}
