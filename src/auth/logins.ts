/**
 * The accounts and sessions as login, refresh and logout read and write them (users.sessions, see
 * sessions.ts): the account an e-mail names, a new session, the compare-and-swap rotation of one,
 * the revocation of a replayed one, and the caller's own row.
 */
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { nowMs, users, type StoredSession } from '../db/schema.js';
import { anySession, field, holdsSession, sessionsAdding, sessionsChanging, sessionsWhere, time } from './sessions.js';

/** A user's columns, everything but the secrets. */
const { passwordHash, sessions, tokenVersion, ...userColumns } = getTableColumns(users);

const sessionOf = (hash: SQL | string) =>
  sql<string>`(SELECT e.s->>'id' FROM jsonb_array_elements(${users.sessions}) AS e(s) WHERE e.s->>'hash' = ${hash})`.as('session_id');

/**
 * Compare-and-swap: only the request that still finds the presented hash in a session rotates
 * that session; the other sessions of the user are left as they are. Built once: building the
 * SQL text was a third of the refresh's CPU per request (bench/RESULTS.md).
 */
export function prepareRotation(db: Db) {
  const presented = sql`${sql.placeholder('presented')}::text`;
  const next = sql`${sql.placeholder('next')}::text`;
  return db
    .update(users)
    .set({
      sessions: sessionsChanging(
        sql`${field('hash')} = ${presented}`,
        sql`jsonb_build_object('hash', ${next}, 'previousHash', ${presented}, 'rotatedAt', ${sql.placeholder('now')}::text, 'expiresAt', ${sql.placeholder('expiresAt')}::text)`,
      ),
      lastActivityAt: nowMs,
      updatedAt: nowMs,
    })
    .where(
      and(
        holdsSession('hash', sql.placeholder('presented')),
        anySession(sql`${field('hash')} = ${presented} AND ${time('expiresAt')} > now()`),
        eq(users.isActive, true),
      ),
    )
    .returning({ ...userColumns, tokenVersion, sessionId: sessionOf(next) })
    .prepare('refresh_rotate');
}

/** A replay of a token that was already rotated: after the grace window (seconds), end that session. */
export function prepareReplayRevocation(db: Db, graceSeconds: number) {
  const presented = sql`${sql.placeholder('presented')}::text`;
  return db
    .update(users)
    .set({ sessions: sessionsWhere(sql`${field('previousHash')} IS DISTINCT FROM ${presented}`), updatedAt: nowMs })
    .where(
      and(
        holdsSession('previousHash', sql.placeholder('presented')),
        anySession(sql`${field('previousHash')} = ${presented} AND ${time('rotatedAt')} < now() - make_interval(secs => ${graceSeconds})`),
      ),
    )
    .returning({ id: users.id })
    .prepare('refresh_revoke_replayed');
}

/**
 * The account an address (trimmed, lower case) names: a legacy e-mail may have spaces around it
 * (users_email_check, kept NOT VALID), and is found too, by the index users_email_trimmed_idx; an
 * address as written first. The condition and the order of a query that takes one row.
 */
export const namedBy = (email: SQL | string) => ({
  where: eq(sql`lower(btrim(${users.email}))`, email),
  first: sql`lower(${users.email}) = ${email} DESC`,
});

/**
 * The account an e-mail names, with its password hash: in one query whatever the address, so that
 * an unknown one takes the same time.
 */
export function loginUserQuery(db: Db) {
  const { where, first } = namedBy(sql`${sql.placeholder('email')}::text`);
  return db
    .select({ ...userColumns, passwordHash })
    .from(users)
    .where(where)
    .orderBy(first)
    .limit(1);
}

/** loginUserQuery built once, as the session's start below: a login's statements were built per request (issue 26). */
export function prepareLoginUser(db: Db) {
  const query = loginUserQuery(db).prepare('login_user');
  return async (address: string) => (await query.execute({ email: address }))[0];
}

/**
 * Adds a session (the oldest ended beyond `maxSessions`) to an active account, with the password's
 * new hash when it was rehashed; undefined when the account is inactive.
 */
export function prepareSessionStart(db: Db, maxSessions: number) {
  const start = (rehashed: { passwordHash?: SQL }) =>
    db
      .update(users)
      .set({
        sessions: sessionsAdding(sql`${sql.placeholder('session')}::text::jsonb`, maxSessions),
        lastLoginAt: nowMs,
        lastActivityAt: nowMs,
        ...rehashed,
      })
      .where(and(eq(users.id, sql.placeholder('userId')), eq(users.isActive, true)))
      .returning({ ...userColumns, tokenVersion });
  const keeping = start({}).prepare('login_session_start');
  const rehashing = start({ passwordHash: sql`${sql.placeholder('passwordHash')}::text` }).prepare('login_session_start_rehashed');
  return async (userId: number, stored: StoredSession, rehashed: { passwordHash?: string }) => {
    const values = { userId, session: JSON.stringify(stored), ...rehashed };
    const [updated] = await (rehashed.passwordHash === undefined ? keeping : rehashing).execute(values);
    return updated;
  };
}

/** The account holding a session of this refresh-token hash. */
export async function sessionHolder(db: Db, hash: string) {
  const [holder] = await db.select(userColumns).from(users).where(holdsSession('hash', hash));
  return holder;
}

/** Ends one session of a user. */
export async function endSession(db: Db, userId: number, sessionId: string) {
  await db
    .update(users)
    .set({ sessions: sessionsWhere(sql`${field('id')} <> ${sessionId}::text`) })
    .where(eq(users.id, userId));
}

/** A user's stored sessions (none when the user is gone). */
export async function storedSessions(db: Db, userId: number) {
  const [row] = await db.select({ sessions }).from(users).where(eq(users.id, userId));
  return row?.sessions ?? [];
}

/** A user, without the secrets. */
export async function readUser(db: Db, id: number) {
  const [user] = await db.select(userColumns).from(users).where(eq(users.id, id));
  return user;
}
