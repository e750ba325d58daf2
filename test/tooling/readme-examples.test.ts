/**
 * The README's examples of `npm run db:migrate` and `npm run db:rollback` output are what the
 * commands print: each fenced block that starts "Applied …" or "Rolled back …" is compared with a
 * real run on the legacy backup (counts that depend on today's date, such as expired refresh
 * tokens, normalised). They said "Applied 4" and "Rolled back 7" while the chain had 8.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CHAIN, dbMigrate, dbRollback, PROJECT_ROOT } from '../helpers/commands.js';
import { legacyTemplate, scratchDatabase } from '../helpers/databases.js';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

/** Fenced blocks, their common indentation removed (some sit in a numbered list). */
const blocks = [...readme.matchAll(/^( *)```[^\n]*\n([\s\S]*?)^\1```$/gm)].map(([, indent, body]) =>
  body!
    .split('\n')
    .map((line) => line.slice(indent!.length))
    .join('\n')
    .trim(),
);

/** Counts that depend on the day the run happens (tokens expire), and trailing spaces. */
const normalised = (text: string) =>
  text
    .replace(/dropped: \d+ moved into users, \d+ superseded, \d+ expired/g, 'dropped: N moved into users, N superseded, N expired')
    .replace(/\d+ session\(s\) end/g, 'N session(s) end')
    .replace(/ +$/gm, '')
    .trim();

/** What a command printed, from its report's first line on. */
const report = (stdout: string) => stdout.slice(stdout.search(/^(Applied|Rolled back) /m)).trim();

t.test('the migrate and rollback examples are the real output', async (t) => {
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);
  const migrated = await dbMigrate({ url: db.url });
  t.equal(migrated.code, 0, migrated.stderr);
  const rolledBack = await dbRollback({ url: db.url });
  t.equal(rolledBack.code, 0, rolledBack.stderr);
  const real = { Applied: report(migrated.stdout), Rolled: report(rolledBack.stdout) };

  const examples = blocks.filter((block) => /^(Applied|Rolled back) \d+ migration\(s\)/.test(block));
  t.equal(examples.length, 2, 'the README shows one of each');
  for (const example of examples) {
    const kind = example.startsWith('Applied') ? 'Applied' : 'Rolled';
    t.equal(normalised(example), normalised(real[kind]), `the README's "${example.split('\n')[0]!.slice(0, 40)}…" block`);
  }
});

t.test('rolled back to 0001_rename_tables, the report names the tables as they are then: users, orders', async (t) => {
  const db = await scratchDatabase(await legacyTemplate());
  t.teardown(db.drop);
  t.equal((await dbMigrate({ url: db.url })).code, 0);
  const partial = await dbRollback({ url: db.url }, ['--to', '0001_rename_tables']);
  t.equal(partial.code, 0, partial.stderr);
  t.match(partial.stdout, /^users +35 +35$/m);
  t.match(partial.stdout, /^orders +800 +800$/m);
  t.notMatch(partial.stdout, /"User"|"Order"/, 'not their legacy names, which they no longer have');
  const rest = await dbRollback({ url: db.url });
  t.match(rest.stdout, /^users -> "User" +35 +35$/m, 'the rest of the way, the rename back');
});

t.test("the metrics example counts the chain's migrations", async (t) => {
  const applied = /backoffice_migrations\{state="applied"\} (\d+)/.exec(readme)?.[1];
  t.equal(Number(applied), CHAIN.length, `backoffice_migrations{state="applied"} ${applied}: the chain has ${CHAIN.length}`);
});
