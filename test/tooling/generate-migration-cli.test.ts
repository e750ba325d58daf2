/** scripts/generate-migration.mjs on the command line: usage on --help, one-line errors, and drizzle-kit never started by mistake. */
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MIGRATIONS_FOLDER } from '../../src/db/migrations-folder.js';
import { run } from '../helpers/commands.js';

const script = (...args: string[]) => run('node', ['scripts/generate-migration.mjs', ...args]);
const migrations = () => readdirSync(MIGRATIONS_FOLDER).sort();

t.test('--help prints the usage and runs nothing', async (t) => {
  const before = migrations();
  for (const flag of ['--help', '-h']) {
    const result = await script(flag);
    t.equal(result.code, 0, flag);
    t.match(result.stdout, /^Usage: node scripts\/generate-migration\.mjs <name> \[plan\.json\]/);
    t.match(result.stdout, /"tables": \{ "Old": "new" \}/, 'with the plan format');
    t.notMatch(result.stdout + result.stderr, /drizzle-kit generate exited|prompts answered/, 'drizzle-kit was not run');
  }
  t.same(migrations(), before, 'no migration written');
});

t.test('mistakes get one line, no stack', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bo-plan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'broken.json'), '{ "tables": ');
  const missing = await script('add_thing', join(dir, 'missing.json'));
  t.equal(missing.code, 1);
  t.equal(missing.stderr, `No plan file ${join(dir, 'missing.json')}\n`);
  const broken = await script('add_thing', join(dir, 'broken.json'));
  t.equal(broken.code, 1);
  t.match(broken.stderr, new RegExp(`^The plan file ${join(dir, 'broken.json')} is not valid JSON: [^\\n]+\\n$`));
  for (const args of [[], ['--name'], ['a name'], ['x', 'plan.json', 'extra']]) {
    const usage = await script(...args);
    t.equal(usage.code, 2, JSON.stringify(args));
    t.match(usage.stderr, /^Usage: /);
    t.notMatch(usage.stderr, / {4}at /);
  }
});
