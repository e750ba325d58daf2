/**
 * `npm run db:migrate`: applies the migration chain to DATABASE_URL (or to the embedded PGlite
 * database when it is unset), safely alongside other replicas doing the same, and prints a
 * report of rows before and after. Exits non-zero with the database's own message when it stops.
 */
import { databaseTarget } from '../config.js';
import { countDatabase, formatReport } from './migration-report.js';
import { runMigrations } from './migrations.js';

const target = databaseTarget(process.env);
const where = 'url' in target ? 'PostgreSQL' : `PGlite in ${target.dataDir}`;

try {
  const run = await runMigrations(target, countDatabase);
  const report = formatReport(run);
  console.log(`Migrating ${where}.\n${report.text}`);
  process.exitCode = report.ok ? 0 : 1;
} catch (error) {
  const e = error as { message?: string; detail?: string; hint?: string; cause?: unknown };
  // drizzle wraps the driver's error; the database's own words are on the cause
  const db = (e.cause ?? e) as { message?: string; detail?: string; hint?: string; where?: string };
  console.error(`Migration of ${where} stopped; nothing was changed.\n${db.message ?? String(error)}`);
  if (db.detail) console.error(`DETAIL: ${db.detail}`);
  if (db.hint) console.error(`HINT: ${db.hint}`);
  process.exitCode = 1;
}
