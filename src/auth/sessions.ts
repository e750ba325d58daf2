/**
 * Ending a user's sessions, in one place: the users route (a new password, a deactivation), logout
 * and `npm run user:reset-password` all call it.
 */
import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { users } from '../db/schema.js';

/** The refresh slot emptied: neither the current refresh token nor the one it replaced works again. */
export const NO_SESSION = { refreshTokenHash: null, refreshTokenExpiresAt: null, previousRefreshTokenHash: null, refreshTokenRotatedAt: null };

/** Ends every session of the user; inside a transaction, pass it (its row lock is then already held). */
export async function endSessions(db: Db | Tx, userId: number) {
  await db.update(users).set(NO_SESSION).where(eq(users.id, userId));
}
