/** The snapshots are true: after the last migration, `drizzle-kit generate` has nothing to write. */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT, run } from '../helpers/commands.js';

t.test('drizzle-kit generate finds nothing to do after the chain', async (t) => {
  // generate writes into its `out` folder, so it runs against a copy of drizzle/
  const dir = mkdtempSync(join(tmpdir(), 'bo-generate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(PROJECT_ROOT, 'drizzle'), join(dir, 'drizzle'), { recursive: true });
  writeFileSync(
    join(dir, 'drizzle.config.ts'),
    `export default ${JSON.stringify({
      dialect: 'postgresql',
      schema: join(PROJECT_ROOT, 'src/db/schema.ts'),
      out: relative(PROJECT_ROOT, join(dir, 'drizzle')), // drizzle-kit reads `out` relative to the working directory
      casing: 'snake_case',
    })};\n`,
  );
  const files = (folder: string) => readdirSync(folder, { recursive: true }).map(String).sort();
  const before = files(join(dir, 'drizzle'));

  const result = await run('npx', ['drizzle-kit', 'generate', '--config', join(dir, 'drizzle.config.ts')]);
  t.equal(result.code, 0, result.stderr);
  t.same(files(join(dir, 'drizzle')), before, 'no new migration or snapshot');
  // without a terminal drizzle-kit writes nothing when it would have to ask, so also read what it said
  t.match(result.stdout, /No schema changes, nothing to migrate/);
  t.notMatch(result.stdout + result.stderr, /TTY|renamed/);
});
