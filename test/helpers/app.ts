/** The app on a scratch copy of the migrated legacy database, as tests drive it: through HTTP (`app.inject`). */
import { Writable } from 'node:stream';
import { buildApp, type AppConfig } from '../../src/app.js';
import { openDatabase } from '../../src/db/client.js';
import type { Role } from '../../src/db/schema.js';
import { connect, migratedTemplate, scratchDatabase } from './databases.js';

/** Known logins of the legacy backup (its README), one per role. */
export const LOGINS = {
  admin: { email: 'admin@nk-food.shop', password: 'admin-Passw0rd!', id: 1 },
  boss: { email: 'boss@nk-food.shop', password: 'boss-Passw0rd!', id: 2 },
  storekeeper: { email: 'keeper@nk-food.shop', password: 'keeper-Passw0rd!', id: 3 },
  'shop-manager': { email: 'manager@nk-food.shop', password: 'manager-Passw0rd!', id: 4 },
  'ads-manager': { email: 'user2@nk-food.shop', password: 'keeper-Passw0rd!', id: 7 },
  user: { email: 'user3@nk-food.shop', password: 'keeper-Passw0rd!', id: 8 },
} satisfies Record<Role, { email: string; password: string; id: number }>;

export const TEST_CONFIG = {
  jwtSecret: 'a-test-secret-that-is-at-least-32-characters',
  accessTokenTtl: 900,
  refreshTokenTtl: 7 * 24 * 3600,
  refreshReuseGrace: 1,
  loginRateLimit: 1000,
  loginRateLimitPerClient: 1000,
  maxSessionsPerUser: 5,
  maxEventLoopDelay: 0,
} satisfies Omit<AppConfig, 'database'>;

export const testSessionId = (userId: number) => `test-session-${userId}`;

/** Every user gets a session (beside those it has) that tokenFor's tokens name. */
export async function giveTestSessions(sql: ReturnType<typeof connect>) {
  await sql`
    update users set sessions = sessions || jsonb_build_array(jsonb_build_object(
      'id', 'test-session-' || id, 'hash', md5('test-session-' || id), 'previousHash', null,
      'expiresAt', '2999-01-01T00:00:00.000Z', 'rotatedAt', null, 'createdAt', '2026-01-01T00:00:00.000Z', 'device', 'test'))`;
}

/** Writes values that break rules, as legacy rows hold them: the table's rules set aside, added back NOT VALID. */
export async function writeLegacyValues(sql: ReturnType<typeof connect>, table: string, statement: string) {
  await sql.begin(async (tx) => {
    const rules = await tx<{ name: string; definition: string }[]>`
      select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint where conrelid = ${table}::regclass and contype = 'c'`;
    for (const rule of rules) await tx.unsafe(`alter table ${table} drop constraint ${rule.name}`);
    await tx.unsafe(statement);
    for (const rule of rules)
      await tx.unsafe(`alter table ${table} add constraint ${rule.name} ${rule.definition.replace(/ NOT VALID$/, '')} not valid`);
  });
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** `poolMax`: the app's pool of that many connections (1: every query on one connection) instead of the default. */
export async function testApp(t: Teardown, overrides: Partial<AppConfig> = {}, { poolMax }: { poolMax?: number } = {}) {
  const db = await scratchDatabase(await migratedTemplate());
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const database =
    poolMax === undefined ? undefined : await openDatabase({ url: db.url }, { max: poolMax, statementTimeout: overrides.statementTimeout });
  const app = await buildApp({ database: { url: db.url }, ...TEST_CONFIG, ...overrides }, { logLevel: 'trace', logStream, database });
  const sql = connect(db.url);
  await giveTestSessions(sql);
  t.teardown(async () => {
    await app.close();
    await sql.end();
    await db.drop();
  });
  /** An access token as login would issue it (for the session giveTestSessions added). */
  const tokenForUser = (id: number, role: Role) => app.signAccessToken({ id, role, sessionId: testSessionId(id), version: 0 });
  const tokenFor = (role: Role) => tokenForUser(LOGINS[role].id, role);
  const headersFor = (role: Role) => ({ authorization: `Bearer ${tokenFor(role)}` });
  const count = async (table: string) => (await sql.unsafe(`select count(*)::int as n from "${table}"`))[0]!.n as number;
  return { app, sql, db, logs, tokenFor, tokenForUser, headersFor, count };
}
