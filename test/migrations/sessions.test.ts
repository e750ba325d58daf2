/**
 * Migration 0005_sessions on a database that has run the chain before it and been in use: every
 * refresh-token slot (rotated, expired, and the legacy tokens 0002 carried in) becomes a session,
 * the tokens go on working through HTTP, and the down file takes the database back to the schema before it
 * with the newest unexpired session in the slot.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { MIGRATIONS_FOLDER } from '../../src/db/migrations-folder.js';
import { TEST_CONFIG } from '../helpers/app.js';
import { readSchema } from '../helpers/catalog.js';
import { dbMigrate } from '../helpers/commands.js';
import { connect, legacyTemplate, scratchDatabase } from '../helpers/databases.js';

const TAG = '0005_sessions';
/** The drizzle client on `sql` leaves timestamps as the server's text: compare instants. */
const instant = (value: unknown) => new Date(String(value).replace(' ', 'T').replace(/\+00$/, 'Z')).getTime();
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The chain up to TAG (not including it, or including it), in a folder of its own. */
function chainUpTo(including: boolean) {
  const folder = mkdtempSync(join(tmpdir(), 'bo-chain-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === TAG);
  journal.entries = journal.entries.slice(0, including ? at + 1 : at);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}
const beforeTag = chainUpTo(false);
const throughTag = chainUpTo(true);
const migrateTo = (sql: ReturnType<typeof connect>, migrationsFolder: string) =>
  migrate(drizzle(sql), { migrationsFolder, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });

async function beforeSessions(t: { teardown(fn: () => unknown): void }) {
  const db = await scratchDatabase(await legacyTemplate());
  const sql = connect(db.url);
  t.teardown(async () => {
    await sql.end();
    await db.drop();
  });
  await migrateTo(sql, beforeTag);
  return { db, sql };
}

const raw = {
  rotated: randomBytes(32).toString('base64url'),
  replaced: randomBytes(32).toString('base64url'),
  expired: randomBytes(32).toString('base64url'),
};

t.test('every slot, legacy tokens included, becomes a session; the tokens keep working', async (t) => {
  const { db, sql } = await beforeSessions(t);
  // a database in use: a rotated slot, an expired one, besides the legacy tokens 0002 carried in
  await sql`update users set refresh_token_hash = ${sha256(raw.rotated)}, previous_refresh_token_hash = ${sha256(raw.replaced)},
              refresh_token_expires_at = now() + interval '10 days', refresh_token_rotated_at = now() - interval '1 minute' where id = 2`;
  await sql`update users set refresh_token_hash = ${sha256(raw.expired)}, refresh_token_expires_at = now() - interval '1 day' where id = 3`;
  const slots = await sql`
    select id, refresh_token_hash as hash, previous_refresh_token_hash as "previousHash",
           refresh_token_expires_at as "expiresAt", refresh_token_rotated_at as "rotatedAt"
      from users where refresh_token_hash is not null order by id`;
  t.ok(slots.length >= 8, `${slots.length} slots, six of them legacy tokens`);

  const result = await dbMigrate({ url: db.url });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, new RegExp(`Applied \\d+ migration\\(s\\): ${TAG}[.,]`), 'from 0005 on');
  t.match(
    result.stdout,
    new RegExp(`users holding a refresh-token session\\s+${slots.length}\\s+${slots.length}\\s*\\n`),
    'the report counts them',
  );

  const after = await sql`select id, sessions from users where sessions <> '[]' order by id`;
  t.same(
    after.map((u) => u.id),
    slots.map((s) => s.id),
    'the same users hold a session',
  );
  for (const [i, slot] of slots.entries()) {
    const sessions = after[i]!.sessions as Record<string, string | null>[];
    t.equal(sessions.length, 1, `user ${slot.id}: one session`);
    const [s] = sessions;
    t.same(
      { hash: s!.hash, previousHash: s!.previousHash, expiresAt: instant(s!.expiresAt), rotatedAt: s!.rotatedAt && instant(s!.rotatedAt) },
      {
        hash: slot.hash,
        previousHash: slot.previousHash,
        expiresAt: instant(slot.expiresAt),
        rotatedAt: slot.rotatedAt && instant(slot.rotatedAt),
      },
      `user ${slot.id}: the slot, exactly`,
    );
  }

  const app = await buildApp({ ...TEST_CONFIG, database: { url: db.url } });
  t.teardown(() => app.close());
  const refresh = (refreshToken: string) => app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
  t.equal((await refresh(raw.expired)).statusCode, 401, 'an expired slot stays expired');
  t.equal((await refresh(raw.replaced)).statusCode, 401, 'the token a slot replaced a minute ago is a replay…');
  t.equal((await refresh(raw.rotated)).statusCode, 401, '…which ended that session (past the grace window)');
  const renewed = await refresh(raw.rotated);
  t.equal(renewed.statusCode, 401);
  const [keeper] = await sql`select sessions from users where id = 2`;
  t.same(keeper!.sessions, [], 'user 2 holds no session any more');
});

t.test('a migration from the legacy backup and from the chain before 0005 converge; migrating again changes nothing', async (t) => {
  const { db, sql } = await beforeSessions(t);
  t.equal((await dbMigrate({ url: db.url })).code, 0);
  const whole = await scratchDatabase(await legacyTemplate());
  t.teardown(whole.drop);
  t.equal((await dbMigrate({ url: whole.url })).code, 0);
  const wholeSql = connect(whole.url);
  t.teardown(() => wholeSql.end());
  t.same(await readSchema(sql), await readSchema(wholeSql), 'the same schema');
  const again = await dbMigrate({ url: db.url });
  t.match(again.stdout, /Nothing to apply/);
});

t.test(`drizzle/down/${TAG}.sql reverts exactly 0005: the schema before it, the newest unexpired session in the slot`, async (t) => {
  const { sql } = await beforeSessions(t);
  const reference = await readSchema(sql);
  await migrateTo(sql, throughTag); // 0005 alone: its down file reverts it, not the migrations after it
  const now = Date.now();
  const iso = (offsetMs: number) => new Date(now + offsetMs).toISOString();
  const session = (name: string, created: number, rotated: number | null, expires: number) => ({
    id: name,
    hash: sha256(name),
    previousHash: rotated === null ? null : sha256(`before ${name}`),
    expiresAt: iso(expires),
    rotatedAt: rotated === null ? null : iso(rotated),
    createdAt: iso(created),
    device: name,
  });
  const day = 24 * 3600 * 1000;
  const sessions = [
    session('old phone', -9 * day, -1 * day, 20 * day),
    session('station', -2 * day, null, 28 * day), // newest created, but the phone rotated later
    session('expired tablet', -40 * day, -1000, -1000), // the newest rotation, but expired
  ];
  await sql`update users set sessions = ${JSON.stringify(sessions)}::jsonb where id = 2`;

  const statements = readFileSync(new URL(`../../drizzle/down/${TAG}.sql`, import.meta.url), 'utf8').split('--> statement-breakpoint');
  await sql.begin(async (tx) => {
    for (const statement of statements) await tx.unsafe(statement);
  });
  const schema = await readSchema(sql);
  const withoutPositions = (columns: Record<string, unknown>[]) => columns.map(({ position, ...c }) => c);
  t.same(withoutPositions(schema.columns), withoutPositions(reference.columns), 'columns as before 0005, in the same order');
  t.same({ ...schema, columns: [] }, { ...reference, columns: [] }, 'tables, constraints, indexes, triggers as before 0005');
  const [slot] =
    await sql`select refresh_token_hash as hash, previous_refresh_token_hash as previous, refresh_token_rotated_at as rotated from users where id = 2`;
  t.same(
    { ...slot, rotated: instant(slot!.rotated) },
    { hash: sha256('old phone'), previous: sha256('before old phone'), rotated: instant(sessions[0]!.rotatedAt) },
  );
});

t.test('the refresh look-ups by token hash (current and previous) can use users_sessions_idx', async (t) => {
  const { db, sql } = await beforeSessions(t);
  t.equal((await dbMigrate({ url: db.url })).code, 0);
  const plans = () =>
    sql.begin(async (tx) => {
      // 35 users: the planner would rightly scan the table; forbid that to see what the index serves
      await tx`set local enable_seqscan = off`;
      const byKey: Record<string, string> = {};
      for (const key of ['hash', 'previousHash']) {
        const plan = await tx.unsafe(
          `explain select id from users where sessions @> jsonb_build_array(jsonb_build_object('${key}', $1::text))`,
          ['x'],
        );
        byKey[key] = plan.map((r) => r['QUERY PLAN']).join('\n');
      }
      return byKey;
    });
  // 0005 rewrites the rows of users and builds the index in one transaction, so PostgreSQL marks it
  // indcheckxmin: no snapshot older than that transaction may use it, and a transaction still open
  // anywhere in the cluster (another test file's) keeps new snapshots that old for a while. Each try
  // is a new transaction; the index must serve both look-ups within a minute.
  const [index] = await sql`select indisvalid as valid from pg_index where indexrelid = 'users_sessions_idx'::regclass`;
  t.equal(index?.valid, true, 'the index is valid');
  let last: Record<string, string> = {};
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 200))) {
    last = await plans();
    if (Object.values(last).every((plan) => /Index Scan on users_sessions_idx/.test(plan))) break;
  }
  for (const [key, plan] of Object.entries(last)) t.match(plan, /Index Scan on users_sessions_idx/, key);
});
