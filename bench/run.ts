/**
 * `npm run bench`: every benchmark, in order; `npm run bench -- api pglite`: those named. Each runs
 * as its own process (its script, with its default options) and writes its own section of
 * bench/RESULTS.md. api-profile runs only when named.
 */
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from './lib/processes.js';

/** Name -> script; DEFAULT run when none is named. */
const SCRIPTS: Record<string, string> = {
  migration: 'bench/migration.ts',
  import: 'bench/import.ts',
  api: 'bench/api.ts',
  pglite: 'bench/pglite-start.ts',
  start: 'bench/start.ts',
  'api-profile': 'bench/api-profile.ts',
};
const DEFAULT = ['migration', 'import', 'api', 'pglite', 'start'];

const names = process.argv.slice(2);
const unknown = names.filter((n) => !(n in SCRIPTS));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(SCRIPTS).join(', ')}`);
  process.exit(2);
}

for (const name of names.length ? names : DEFAULT) {
  const script = SCRIPTS[name]!;
  console.log(`\n== ${name}: npx tsx ${script}`);
  const { status, signal } = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (status !== 0) {
    console.error(`${script} ${signal ? `was stopped by ${signal}` : `exited with ${status}`}`);
    process.exit(status ?? 1);
  }
}
