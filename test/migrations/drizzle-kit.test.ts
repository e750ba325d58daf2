/**
 * `npm run db:migrate` and drizzle's own migrator are interchangeable: ours writes the ledger rows
 * drizzle writes (each file's hash, its journal date), so drizzle's migrator finds a database we
 * migrated up to date; and `drizzle-kit migrate`, with the project's config, applies the same chain
 * to the same schema, after which ours finds nothing to apply.
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import t from 'tap';
import { MIGRATIONS_FOLDER } from '../../src/db/migrations-folder.js';
import { readSchema } from '../helpers/catalog.js';
import { APPLIED_WHOLE_CHAIN, dbMigrate, run } from '../helpers/commands.js';
import { connect, scratchDatabase } from '../helpers/databases.js';

const LEDGER = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' };
/** The rows drizzle's migrator writes for the whole chain. */
const expectedLedger = readMigrationFiles(LEDGER).map((m) => ({ hash: m.hash, created_at: String(m.folderMillis) }));

const oursDb = await scratchDatabase();
const kitDb = await scratchDatabase();
const ours = connect(oursDb.url);
const kit = connect(kitDb.url);
t.teardown(async () => {
  await Promise.all([ours.end(), kit.end()]);
  await Promise.all([oursDb.drop(), kitDb.drop()]);
});

const ledgerOf = (sql: typeof ours) => sql`select hash, created_at::text as created_at from drizzle.__drizzle_migrations order by id`;

t.test("npm run db:migrate writes drizzle's ledger rows, and drizzle's migrator then finds nothing to do", async (t) => {
  const result = await dbMigrate({ url: oursDb.url });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, APPLIED_WHOLE_CHAIN);
  t.ok(expectedLedger.length >= 8, 'the whole chain');
  t.same([...(await ledgerOf(ours))], expectedLedger, 'one row per migration: its hash and journal date, in order');
  const schema = await readSchema(ours);
  await migrate(drizzle(ours), LEDGER);
  t.same([...(await ledgerOf(ours))], expectedLedger, 'drizzle applied nothing');
  t.same(await readSchema(ours), schema, 'and changed nothing');
});

t.test('drizzle-kit migrate applies the same chain to the same schema; npm run db:migrate then finds nothing to apply', async (t) => {
  const result = await run('npx', ['drizzle-kit', 'migrate'], { DATABASE_URL: kitDb.url });
  t.equal(result.code, 0, result.stdout + result.stderr);
  t.same([...(await ledgerOf(kit))], expectedLedger, 'the same ledger rows');
  t.same(await readSchema(kit), await readSchema(ours), 'the same schema');
  const again = await dbMigrate({ url: kitDb.url });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /Nothing to apply: the database is up to date\./);
});
