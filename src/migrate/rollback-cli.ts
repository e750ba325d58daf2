/**
 * `npm run db:rollback [-- --to <tag>]`: takes DATABASE_URL (or the embedded PGlite database) back
 * through the down files of what the ledger records, newest first, to the legacy schema or to
 * <tag>, under the lock `db:migrate` holds, and prints rows before and after. Exits non-zero with
 * the database's own message when it stops; nothing has changed then.
 */
import { parseArgs } from 'node:util';
import { databaseTarget, readEnvFile } from '../config.js';
import { describeTarget } from '../db/target.js';
import { countDatabase, describeFailure, formatReport } from './report.js';
import { runRollback } from './rollback.js';

readEnvFile();
const target = databaseTarget(process.env);

try {
  const { values } = parseArgs({ options: { to: { type: 'string' } } });
  const run = await runRollback(target, countDatabase, { to: values.to });
  const report = formatReport(run);
  console.log(`Rolling back ${describeTarget(target)}.\n${report.text}`);
  process.exitCode = report.ok ? 0 : 1;
} catch (error) {
  console.error(describeFailure(error, target, 'Rollback'));
  process.exitCode = 1;
}
