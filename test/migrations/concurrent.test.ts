/** Eight replicas starting at once: one applies the chain, seven wait and find nothing to do. */
import t from 'tap';
import { APPLIED_WHOLE_CHAIN, CHAIN, dbMigrate } from '../helpers/commands.js';
import { connect, legacyTemplate, migratedTemplate, scratchDatabase } from '../helpers/databases.js';
import { dataFingerprint, readSchema } from '../helpers/catalog.js';

const target = await scratchDatabase(await legacyTemplate());
const reference = await scratchDatabase(await migratedTemplate());
const sql = connect(target.url);
const ref = connect(reference.url);
t.teardown(async () => {
  await Promise.all([sql.end(), ref.end()]);
  await Promise.all([target.drop(), reference.drop()]);
});

t.test('eight npm run db:migrate at once on one legacy database', async (t) => {
  const results = await Promise.all(Array.from({ length: 8 }, () => dbMigrate({ url: target.url })));
  t.same(
    results.map((r) => r.code),
    Array(8).fill(0),
    'all exit 0',
  );
  const appliers = results.filter((r) => APPLIED_WHOLE_CHAIN.test(r.stdout));
  const waiters = results.filter((r) => /Nothing to apply/.test(r.stdout));
  t.equal(appliers.length, 1, 'exactly one applies the chain');
  t.equal(waiters.length, 7, 'the others find nothing to do');
  const ledger = await sql`select hash, created_at from drizzle.__drizzle_migrations order by id`;
  t.equal(ledger.length, CHAIN.length, 'each migration recorded once');
  t.same(await dataFingerprint(sql), await dataFingerprint(ref), 'the data is that of a single migration');
  t.same(await readSchema(sql), await readSchema(ref), 'and so is the schema');
});
