/**
 * `npm run db:check [-- --validate]`: the rows that break a check kept NOT VALID (legacy rows the
 * restructuring carried as they were), each with the SQL that fixes it; exits 1 while there are
 * any. With --validate, every such check that no row breaks any more is validated. Reads only,
 * otherwise; never shows a secret column.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { databaseTarget, readEnvFile } from '../config.js';
import { openDatabase, type DatabaseClient } from '../db/client.js';
import { databaseErrorOf } from '../db/driver-errors.js';
import { databaseProblem, describeTarget } from '../db/target.js';
import { describeBreaker, findRuleBreakers, rowFixes } from './rule-breakers.js';

const USAGE = `Usage: npm run db:check [-- --validate]

Lists the rows that break a rule of the schema kept NOT VALID (legacy rows carried as they were),
each with the SQL that fixes it, and exits 1 while there are any. With --validate, validates every
such rule that no row breaks any more. Uses DATABASE_URL, or PGlite in PGLITE_DATA_DIR.`;

let validate = false;
try {
  const { values } = parseArgs({ options: { validate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  validate = values.validate ?? false;
} catch {
  console.error(USAGE);
  process.exit(1);
}

readEnvFile();
const target = databaseTarget(process.env);
const where = describeTarget(target);
if ('dataDir' in target && !existsSync(target.dataDir)) {
  console.error(`No database in ${target.dataDir}: start the service once (npm start), or set DATABASE_URL.`);
  process.exit(1);
}

let client: DatabaseClient | undefined;
try {
  client = await openDatabase(target, { max: 1 });
  const found = await findRuleBreakers(client, Number.MAX_SAFE_INTEGER);
  const clean = found.notValid.filter((name) => !found.counts[name]);
  const validated: string[] = [];
  if (validate) {
    for (const name of clean) {
      const [table, constraint] = [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.') + 1)];
      await client.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT "${constraint.replaceAll('"', '""')}"`);
      validated.push(name);
    }
  }
  const lines = [`Checking ${where}.`];
  if (!found.rows.length) lines.push('No row breaks a rule of the schema.');
  else {
    const fixes = rowFixes(found.rows);
    lines.push(
      `${fixes.length} row(s) break a rule (kept NOT VALID: each change to such a row must correct it). Each row, the rules it`,
      'breaks, and one UPDATE that corrects it (read its notes: a value the data cannot tell is a placeholder):',
    );
    for (const fix of fixes) {
      lines.push('', ...found.rows.filter((b) => b.table === fix.table && b.key === fix.key).map(describeBreaker));
      lines.push(`  ${fix.sql}`, ...fix.notes.map((note) => `  -- ${note}`));
    }
  }
  if (validated.length) lines.push('', `Validated (no row breaks them any more): ${validated.join(', ')}`);
  const left = clean.filter((name) => !validated.includes(name));
  if (left.length) {
    lines.push(
      '',
      'No row breaks these any more; validate them (or run npm run db:check -- --validate):',
      ...left.map(
        (name) => `  ALTER TABLE ${name.slice(0, name.lastIndexOf('.'))} VALIDATE CONSTRAINT ${name.slice(name.lastIndexOf('.') + 1)};`,
      ),
    );
  }
  if (found.rows.length) {
    lines.push('', 'Once a rule has no row left: npm run db:check -- --validate (or ALTER TABLE <table> VALIDATE CONSTRAINT <rule>;).');
  }
  console.log(lines.join('\n'));
  process.exitCode = found.rows.length ? 1 : 0;
} catch (error) {
  const code = databaseErrorOf(error)?.code;
  console.error(
    code === '42P01'
      ? `${where} is not restructured: run npm run db:migrate first.`
      : `The check of ${where} stopped: ${databaseProblem(error, target)}`,
  );
  process.exitCode = 2;
} finally {
  await client?.close();
}
