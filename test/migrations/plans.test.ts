/**
 * Each migration's plan (drizzle/plans/<tag>.json) says everything its SQL renames and drops, both
 * ways: what the migration renames (tables, columns) and drops, and what its down file drops (what
 * the migration created) and renames back. The drift guard and the report read only the plans, so a
 * migration that renames or drops something its plan does not say would go unguarded: this fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { readChain } from '../../src/db/ledger.js';
import { MIGRATIONS_FOLDER } from '../../src/db/migrations-folder.js';
import { downChanges, planOf, upChanges, type StepChanges } from '../../src/migrate/drift/plan.js';

const NAME = String.raw`(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))`;
const nameOf = (quoted: string | undefined, bare: string | undefined) =>
  quoted !== undefined ? quoted.replaceAll('""', '"') : bare!.toLowerCase();

/** What a migration's SQL renames and drops, read from its text: `Old -> new`, `table.old -> new`, `name -> (dropped)`. */
function changesInSql(text: string): string[] {
  const source = text.replace(/--[^\n]*/g, ' ');
  const found: string[] = [];
  const temporary = new Set(
    [...source.matchAll(new RegExp(String.raw`CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?${NAME}`, 'gi'))].map((m) =>
      nameOf(m[1], m[2]),
    ),
  );
  for (const m of source.matchAll(new RegExp(String.raw`ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${NAME}([^;]*)`, 'gi'))) {
    const table = nameOf(m[1], m[2]);
    const clauses = m[3]!;
    const renamed = new RegExp(String.raw`^\s*RENAME\s+TO\s+${NAME}`, 'i').exec(clauses);
    if (renamed) found.push(`${table} -> ${nameOf(renamed[1], renamed[2])}`);
    for (const c of clauses.matchAll(new RegExp(String.raw`RENAME\s+COLUMN\s+${NAME}\s+TO\s+${NAME}`, 'gi'))) {
      found.push(`${table}.${nameOf(c[1], c[2])} -> ${nameOf(c[3], c[4])}`);
    }
    for (const c of clauses.matchAll(new RegExp(String.raw`DROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?${NAME}`, 'gi'))) {
      found.push(`${table}.${nameOf(c[1], c[2])} -> (dropped)`);
    }
  }
  for (const m of source.matchAll(new RegExp(String.raw`DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?${NAME}((?:\s*,\s*${NAME})*)`, 'gi'))) {
    const names = [nameOf(m[1], m[2]), ...[...m[3]!.matchAll(new RegExp(NAME, 'g'))].map((n) => nameOf(n[1], n[2]))];
    for (const name of names) if (!temporary.has(name)) found.push(`${name} -> (dropped)`);
  }
  return found.sort();
}

/** The same, as the plan says it (for the direction read). */
const changesInPlan = ({ tables, columns }: StepChanges) =>
  [
    ...tables.map((c) => `${c.name} -> ${c.becomes ?? '(dropped)'}`),
    ...columns.map((c) => `${c.table}.${c.name} -> ${c.becomes ?? '(dropped)'}`),
  ].sort();

const chain = readChain();

t.test("each migration's plan says what it renames and drops, and what its down file renames back and drops", async (t) => {
  for (const { tag } of chain) {
    const up = readFileSync(`${MIGRATIONS_FOLDER}/${tag}.sql`, 'utf8');
    const down = readFileSync(`${MIGRATIONS_FOLDER}/down/${tag}.sql`, 'utf8');
    // the up direction names a renamed column by its table after the step, as drizzle-kit writes it
    const upChangesAsWritten = upChanges(tag);
    upChangesAsWritten.columns = upChangesAsWritten.columns.map((c) =>
      c.becomes === null ? c : { ...c, table: planOf(tag).tables?.[c.table!] ?? c.table },
    );
    t.same(
      changesInSql(up),
      changesInPlan(upChangesAsWritten),
      `${tag}: its SQL against drizzle/plans/${tag}.json (tables, columns, drop)`,
    );
    t.same(
      changesInSql(down),
      changesInPlan(downChanges(tag)),
      `${tag}: its down file against the plan (renames back; create: what it drops)`,
    );
  }
});

t.test('the check reads what a migration would write', async (t) => {
  t.same(
    changesInSql(`ALTER TABLE "orders" RENAME COLUMN "total" TO "total_price";--> statement-breakpoint
      ALTER TABLE users RENAME TO accounts; ALTER TABLE ONLY "a" DROP COLUMN IF EXISTS "b", DROP CONSTRAINT "c";
      CREATE TEMPORARY TABLE "scratch" AS SELECT 1; DROP TABLE "scratch"; DROP TABLE IF EXISTS "Old", legacy_things;
      -- DROP TABLE "mentioned_in_a_comment"`),
    ['Old -> (dropped)', 'a.b -> (dropped)', 'legacy_things -> (dropped)', 'orders.total -> total_price', 'users -> accounts'],
  );
  t.same(changesInPlan(upChanges('9999_not_in_the_chain')), [], 'no plan: nothing renamed or dropped');
});

t.test('every plan belongs to a migration of the chain', async (t) => {
  const tags = new Set(chain.map((m) => m.tag));
  const plans = readdirSync(`${MIGRATIONS_FOLDER}/plans`);
  t.ok(plans.length >= 2, 'the plans are there');
  for (const file of plans) t.ok(file.endsWith('.json') && tags.has(file.slice(0, -'.json'.length)), `${file} is the plan of a migration`);
});
