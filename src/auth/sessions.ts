/**
 * A user's refresh-token sessions live in `users.sessions`, a jsonb array of StoredSession (no
 * sessions table). Every change to the array is one UPDATE of the user's row, so concurrent
 * changes serialise on the row lock and each re-reads the array PostgreSQL hands it after the
 * other's commit: a compare-and-swap per session. Ending a user's sessions is here, in one place:
 * the users route (a new password, a deactivation), logout-all and `npm run user:reset-password`
 * call endSessions.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { users, type StoredSession } from '../db/schema.js';
import { hashRefreshToken, newRefreshToken } from './refresh-tokens.js';

/** The session's elements, in array order (`e.s`, `e.i`). */
const elements = sql`jsonb_array_elements(${users.sessions}) WITH ORDINALITY AS e(s, i)`;

/** The array, keeping only the sessions for which `keep` (on `e.s`) holds. */
export const sessionsWhere = (keep: SQL) => sql`(SELECT coalesce(jsonb_agg(e.s ORDER BY e.i), '[]'::jsonb) FROM ${elements} WHERE ${keep})`;

/** The array with the session for which `which` holds changed by `change` (a jsonb object merged in). */
export const sessionsChanging = (which: SQL, change: SQL) =>
  sql`(SELECT jsonb_agg(CASE WHEN ${which} THEN e.s || ${change} ELSE e.s END ORDER BY e.i) FROM ${elements})`;

/** Some session has `key` = value: served by the GIN (jsonb_path_ops) index users_sessions_idx. */
export const holdsSession = (key: 'hash' | 'previousHash' | 'id', value: unknown) =>
  sql`${users.sessions} @> jsonb_build_array(jsonb_build_object(${sql.raw(`'${key}'`)}, ${value}::text))`;

/** Some session for which `condition` (on `e.s`) holds. */
export const anySession = (condition: SQL) => sql`EXISTS (SELECT 1 FROM ${elements} WHERE ${condition})`;

/** A session's `key` as text, or as a timestamptz. */
export const field = (key: keyof StoredSession) => sql.raw(`(e.s->>'${key}')`);
export const time = (key: 'expiresAt' | 'rotatedAt' | 'createdAt') => sql.raw(`(e.s->>'${key}')::timestamptz`);

const newVersion = sql`${users.tokenVersion} + 1`;

/**
 * Logout-all, a new password, a deactivation: every session ends, and every access token issued
 * so far is refused on every replica (the version it carries is no longer the user's). Inside a
 * transaction, pass it (its row lock is then already held).
 */
export async function endSessions(db: Db | Tx, userId: number) {
  await db
    .update(users)
    .set({ sessions: sql`'[]'::jsonb`, tokenVersion: newVersion })
    .where(eq(users.id, userId));
}

/** The claims of the user's access tokens are stale (a new role): they are refused; sessions go on. */
export async function staleAccessTokens(db: Db | Tx, userId: number) {
  await db.update(users).set({ tokenVersion: newVersion }).where(eq(users.id, userId));
}

/** A new session: its refresh token (returned once, never stored) and what is stored. */
export function newSession(ttlSeconds: number, device: string | null) {
  const refreshToken = newRefreshToken();
  const now = new Date();
  const stored: StoredSession = {
    id: randomUUID(),
    hash: hashRefreshToken(refreshToken),
    previousHash: null,
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    rotatedAt: null,
    createdAt: now.toISOString(),
    device,
  };
  return { refreshToken, stored };
}

/**
 * The array with `session` added: expired sessions are dropped, and of the rest the newest `max`
 * (by creation) are kept, so a new login evicts the oldest.
 */
export const sessionsAdding = (session: SQL, max: number) => sql`(
  SELECT coalesce(jsonb_agg(kept.s ORDER BY (kept.s->>'createdAt')::timestamptz), '[]'::jsonb) FROM (
    SELECT e.s FROM jsonb_array_elements(${users.sessions} || jsonb_build_array(${session})) AS e(s)
     WHERE ${time('expiresAt')} > now()
     ORDER BY ${time('createdAt')} DESC
     LIMIT ${max}) AS kept)`;

/** A session as its user sees it: never a hash. */
export const publicSession = (s: StoredSession, currentId: string) => ({
  id: s.id,
  device: s.device,
  createdAt: s.createdAt,
  lastRefreshedAt: s.rotatedAt,
  expiresAt: s.expiresAt,
  current: s.id === currentId,
});
