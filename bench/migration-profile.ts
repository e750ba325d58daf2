/**
 * Where the restructuring spends its time:
 * `npx tsx bench/migration-profile.ts [--orders 1000000] [--top 15] [--chain drizzle]`.
 * Runs the statements of <chain>/*.sql (drizzle/ unless told: a proposed variant, say) one by one,
 * in one transaction as the migrator does, on a copy of the cached legacy database (bench/
 * migration.ts builds it), and prints the slowest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { legacyName } from './lib/legacy.js';
import { copyDatabase, databaseExists, dropDatabase, timedTransaction, withDatabase } from './lib/pg.js';
import { seconds } from './lib/results.js';

const { values: options } = parseArgs({
  options: {
    orders: { type: 'string', default: '1000000' },
    top: { type: 'string', default: '15' },
    chain: { type: 'string', default: fileURLToPath(new URL('../drizzle/', import.meta.url)) },
  },
});
const legacy = legacyName(Number(options.orders));
if (!(await databaseExists(legacy))) throw new Error(`${legacy} is missing: run bench/migration.ts --orders ${options.orders} first`);

const statements = readdirSync(options.chain)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .flatMap((f) => readFileSync(join(options.chain, f), 'utf8').split('--> statement-breakpoint'))
  .map((s) => s.trim())
  .filter(Boolean);

const copy = `${legacy}_profile`;
await dropDatabase(copy);
await copyDatabase(legacy, copy);
try {
  await withDatabase('postgres', (sql) => sql`checkpoint`);
  const timings = await withDatabase(copy, (sql) => timedTransaction(sql, statements));
  const total = timings.reduce((sum, t) => sum + t.seconds, 0);
  console.log(`${statements.length} statements, ${seconds(total)} in all; the slowest:`);
  for (const t of [...timings].sort((a, b) => b.seconds - a.seconds).slice(0, Number(options.top))) {
    const text = t.statement.replace(/^(--.*\n)+/, '').replace(/\s+/g, ' ');
    console.log(`${seconds(t.seconds).padStart(9)} ${((100 * t.seconds) / total).toFixed(1).padStart(5)} %  ${text.slice(0, 110)}`);
  }
} finally {
  await dropDatabase(copy);
}
