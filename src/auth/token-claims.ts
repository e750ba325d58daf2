/**
 * An access token's claims, in one place: what a token carries and its JWT form (signed by
 * plugins/auth.ts), what of the user's row decides whether it is still good, and the rule
 * (plugins/revocation.ts, which caches that state per user). The trigger `users_auth_change`
 * (migration 0005) tells every replica when one of REVOKING_COLUMNS changes;
 * test/auth/token-claims.test.ts fails when its column list and this module's differ.
 */
import { sql } from 'drizzle-orm';
import { CasingCache } from 'drizzle-orm/casing';
import { Type, type Static } from 'typebox';
import { ROLES, users } from '../db/schema.js';
import { OneOf } from '../schemas.js';

/** Who called, as their access token says. */
export const TokenClaims = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2147483647 }),
  role: OneOf(ROLES),
  /** The refresh-token session the access token was issued for. */
  sessionId: Type.String({ minLength: 1 }),
  /** users.token_version when it was issued. */
  version: Type.Integer({ minimum: 0 }),
});
export type TokenClaims = Static<typeof TokenClaims>;

/** The claims as the JWT carries them: the registered `sub`, short names for the rest. */
export interface JwtClaims {
  sub: string;
  role: TokenClaims['role'];
  sid: string;
  ver: number;
}

export const toJwtClaims = (claims: TokenClaims): JwtClaims => ({
  sub: String(claims.id),
  role: claims.role,
  sid: claims.sessionId,
  ver: claims.version,
});

/** A `sub` that is not all digits gives NaN, which the check against TokenClaims refuses. */
export const fromJwtClaims = (jwt: JwtClaims): TokenClaims => ({
  id: typeof jwt.sub === 'string' && /^[0-9]{1,10}$/.test(jwt.sub) ? Number(jwt.sub) : Number.NaN,
  role: jwt.role,
  sessionId: jwt.sid,
  version: jwt.ver,
});

/** The columns of `users` whose values a token must still match. */
const stateColumns = {
  version: users.tokenVersion,
  role: users.role,
  active: users.isActive,
  sessions: users.sessions,
};

const sqlNames = new CasingCache('snake_case');
/** Their names in SQL: a change to any of them is NOTIFYed to every replica (trigger users_auth_change). */
export const REVOKING_COLUMNS: readonly string[] = Object.values(stateColumns).map((column) => sqlNames.getColumnCasing(column));

/** What revocation reads of a user: the state columns, the sessions as their ids. */
export const userStateSelection = {
  ...stateColumns,
  sessions: sql<string[]>`jsonb_path_query_array(${stateColumns.sessions}, '$[*].id')`,
};

export interface UserState {
  version: number;
  role: string;
  active: boolean;
  sessions: Set<string>;
}

/** The rule: a token is good while its user is active and its version, role and session are the user's. */
export const claimsMatch = (state: UserState | undefined, claims: TokenClaims) =>
  state !== undefined &&
  state.active &&
  state.version === claims.version &&
  state.role === claims.role &&
  state.sessions.has(claims.sessionId);
