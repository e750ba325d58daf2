/** The embedded default: the same chain takes an empty PGlite database, and one holding the legacy backup, to the final schema. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import t from 'tap';
import { APPLIED_WHOLE_CHAIN, dbMigrate } from '../helpers/commands.js';
import { connect, LEGACY_BACKUP, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { readSchema, type Query } from '../helpers/catalog.js';

const reference = await scratchDatabase(await migratedTemplate());
const sql = connect(reference.url);
const expected = await readSchema(sql);
t.teardown(async () => {
  await sql.end();
  await reference.drop();
});

async function withPglite<T>(dataDir: string, fn: (query: Query) => Promise<T>): Promise<T> {
  const pg = await PGlite.create(dataDir);
  try {
    return await fn(async (text) => (await pg.query<Record<string, unknown>>(text)).rows);
  } finally {
    await pg.close();
  }
}

function tempDir(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'bo-pglite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('an empty PGlite database reaches the final schema', async (t) => {
  const dataDir = tempDir(t);
  const result = await dbMigrate({ dataDir });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, new RegExp(`Migrating PGlite in ${dataDir}`));
  t.match(result.stdout, APPLIED_WHOLE_CHAIN);
  t.same(await withPglite(dataDir, readSchema), expected, 'the schema PostgreSQL ends with');
});

t.test('a PGlite database holding the legacy backup is restructured without losing a row', async (t) => {
  const dataDir = tempDir(t);
  const pg = await PGlite.create(dataDir);
  await pg.exec(readFileSync(LEGACY_BACKUP, 'utf8'));
  await pg.close();

  const result = await dbMigrate({ dataDir });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /"Order" -> orders\s+800\s+800/);
  t.match(result.stdout, /"OrderHistory" -> order_history\s+2588\s+2588/);
  t.match(result.stdout, /refresh_tokens\s+58\s+-\s+dropped: 6 moved into users/);
  t.match(result.stdout, /Every row is accounted for\./);
  t.same(await withPglite(dataDir, readSchema), expected, 'the schema PostgreSQL ends with');

  const again = await dbMigrate({ dataDir });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /Nothing to apply/);
});
