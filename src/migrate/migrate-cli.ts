/**
 * `npm run db:migrate`: applies the migration chain to DATABASE_URL (or to the embedded PGlite
 * database when it is unset), safely alongside other replicas doing the same, and prints a
 * report of rows before and after. Exits non-zero with the database's own message when it stops.
 */
import { databaseTarget, readEnvFile } from '../config.js';
import { describeTarget } from '../db/target.js';
import { countDatabase, describeFailure, formatReport } from './report.js';
import { runMigrations } from './migrator.js';

readEnvFile();
const target = databaseTarget(process.env);

try {
  const run = await runMigrations(target, countDatabase);
  const report = formatReport(run);
  console.log(`Migrating ${describeTarget(target)}.\n${report.text}`);
  process.exitCode = report.ok ? 0 : 1;
} catch (error) {
  console.error(describeFailure(error, target));
  process.exitCode = 1;
}
