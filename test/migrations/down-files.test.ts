/**
 * Every migration has its down file, and for each step of the chain, on the legacy backup:
 * up -> down gives back the database before the step, and up -> down -> up the one after it
 * (schema-only dump and content). Generic over the journal: a migration added later is checked
 * the same way. Also: a database that ran the first 0002 (timestamptz(3)) ends with the same schema.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import t from 'tap';
import { MIGRATIONS_FOLDER } from '../../src/db/migrations-folder.js';
import { DOWN_FOLDER, downFile } from '../../src/migrate/rollback.js';
import { CHAIN, dbMigrate, dbRollback } from '../helpers/commands.js';
import { legacyTemplate, migratedTemplate, schemaDump, scratchWithClient } from '../helpers/databases.js';
import { dataFingerprint } from '../helpers/catalog.js';

/** Sessions: users keeps only their tokens' hashes, which no rollback can turn back into tokens. */
const SESSIONS = { users: ['refresh_token_hash', 'refresh_token_expires_at', 'previous_refresh_token_hash', 'refresh_token_rotated_at'] };
/** Tables a down file recreates empty: the restructuring dropped them with their rows. */
const RECREATED_EMPTY = ['refresh_tokens', 'DilovodData', 'SalesDriveData'];

t.test('every journal entry has its down file, and every down file a journal entry', async (t) => {
  t.same(
    CHAIN.filter((m) => !existsSync(downFile(m.tag))).map((m) => m.tag),
    [],
    'no migration without its down file',
  );
  const tags = new Set(CHAIN.map((m) => `${m.tag}.sql`));
  t.same(
    readdirSync(DOWN_FOLDER).filter((f) => !tags.has(f)),
    [],
    'no down file without its migration',
  );
});

/** The first `n` migrations of the chain, as drizzle's migrator reads them (journal cut after n). */
function chainPrefix(t: { teardown(fn: () => void): void }, n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'bo-chain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'meta'));
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
  writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, n) }));
  for (const m of CHAIN.slice(0, n)) cpSync(join(MIGRATIONS_FOLDER, `${m.tag}.sql`), join(dir, `${m.tag}.sql`));
  return dir;
}

t.test('for each step: up -> down is the state before it, up -> down -> up the state after it', async (t) => {
  const { url, sql } = await scratchWithClient(t, await legacyTemplate());
  // The restructuring takes a legacy double to its amount in kopecks, and a rollback brings back the
  // double nearest that amount: 1895.7000000000003 (floating-point noise in 262 of the backup's
  // orders) comes back as 1895.7, the same to the kopeck (rollback.test.ts checks that). Here the
  // doubles start as those nearest doubles, so that every step can be compared exactly.
  await sql`update "Order" set "totalPrice" = "totalPrice"::numeric(12, 2)::float8 where "totalPrice" <> "totalPrice"::numeric(12, 2)::float8`;
  await sql`update "Product" set "costPerItem" = "costPerItem"::numeric(12, 2)::float8 where "costPerItem" <> "costPerItem"::numeric(12, 2)::float8`;
  const up = async (n: number) =>
    migrate(drizzle(sql), { migrationsFolder: chainPrefix(t, n), migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });
  const state = async () => ({ dump: await schemaDump(url), data: await dataFingerprint(sql, SESSIONS) });

  let previous = await state(); // the legacy backup
  for (const [k, step] of CHAIN.entries()) {
    await up(k + 1);
    const after = await state();

    const down = await dbRollback({ url }, k === 0 ? [] : ['--to', CHAIN[k - 1]!.tag]);
    t.equal(down.code, 0, `${step.tag} down: ${down.stderr}`);
    t.match(down.stdout, `Rolled back 1 migration(s): ${step.tag}.`);
    const reverted = await state();
    t.equal(reverted.dump, previous.dump, `${step.tag}: up -> down gives the schema before it`);
    const changed = Object.keys(previous.data).filter((table) => reverted.data[table] !== previous.data[table]);
    t.same(
      changed.filter((table) => !RECREATED_EMPTY.includes(table) || reverted.data[table] !== '0:'),
      [],
      `${step.tag}: up -> down gives the content before it (bar tables recreated empty: ${changed.join(', ') || 'none'})`,
    );

    await up(k + 1);
    const again = await state();
    t.equal(again.dump, after.dump, `${step.tag}: up -> down -> up gives the same schema`);
    t.same(again.data, after.data, `${step.tag}: up -> down -> up gives the same content (the sessions aside)`);
    previous = after;
  }
});

t.test('a database that ran the first 0002 (timestamptz(3), now() defaults) ends with the same schema, unrewritten', async (t) => {
  const old = await scratchWithClient(t, await legacyTemplate());
  const fresh = await scratchWithClient(t, await migratedTemplate());
  const through0003 = CHAIN.findIndex((m) => m.tag === '0003_order_history_user_index') + 1;
  await migrate(drizzle(old.sql), {
    migrationsFolder: chainPrefix(t, through0003),
    migrationsSchema: 'drizzle',
    migrationsTable: '__drizzle_migrations',
  });
  // what the first version of 0002 left: every timestamp column timestamptz(3), defaults now()
  await old.sql.unsafe(`DO $first$
    DECLARE c record;
    BEGIN
      FOR c IN SELECT a.attrelid::regclass AS tbl, a.attname, pg_get_expr(d.adbin, d.adrelid) AS def
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE a.attrelid IN ('users'::regclass, 'orders'::regclass, 'order_history'::regclass, 'products'::regclass,
                                     'box_settings'::regclass, 'wordpress_sku_cache'::regclass)
                  AND a.atttypid = 'timestamptz'::regtype AND NOT a.attisdropped
      LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE timestamptz(3)', c.tbl, c.attname);
        IF c.def IS NOT NULL THEN EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT now()', c.tbl, c.attname); END IF;
      END LOOP;
    END $first$`);
  const files = () => old.sql`select relname, relfilenode::int as file from pg_class
    where relnamespace = 'public'::regnamespace and relkind = 'r' order by 1`;
  const filesBefore = await files();

  const result = await dbMigrate(old);
  t.equal(result.code, 0, result.stderr);
  const rest = CHAIN.slice(through0003);
  t.ok(
    rest.some((m) => m.tag.endsWith('_plain_timestamptz')),
    'the chain has the migration that does it',
  );
  t.match(result.stdout, `Applied ${rest.length} migration(s): ${rest.map((m) => m.tag).join(', ')}.`);
  t.equal(await schemaDump(old.url), await schemaDump(fresh.url), 'the schema of a fresh migration, byte for byte');
  t.same(await dataFingerprint(old.sql), await dataFingerprint(fresh.sql), 'and the same content');
  const existed = new Set(filesBefore.map((f) => f.relname));
  t.same(
    (await files()).filter((f) => existed.has(f.relname)),
    filesBefore,
    'no table rewritten (tables added since aside)',
  );
});
