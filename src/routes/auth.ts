/**
 * /api/v1/auth: login, refresh, logout, me. One refresh-token slot per user: a login replaces the
 * previous session. Refresh rotates with a compare-and-swap on the stored hash, so that two
 * concurrent refreshes with one token give exactly one success; a replayed rotated token is
 * refused, and after the grace window it revokes the session (RFC 9700, 4.14.2).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, eq, getTableColumns, gt, sql } from 'drizzle-orm';
import { Type } from 'typebox';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { hashRefreshToken, newRefreshToken } from '../auth/refresh-tokens.js';
import { endSessions, NO_SESSION } from '../auth/sessions.js';
import type { Role } from '../db/schema.js';
import { nowMs, users } from '../db/schema.js';
import { HttpError } from '../plugins/errors.js';
import { errorResponses, normalizeEmail, Strict } from './shared.js';
import { User } from './users.js';

export interface AuthOptions {
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshReuseGrace: number;
  loginRateLimit: number;
  loginRateLimitPerClient: number;
}

const Tokens = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  user: User,
});

const invalidCredentials = () => new HttpError(401, 'INVALID_CREDENTIALS', 'Invalid email or password');
const invalidRefreshToken = () => new HttpError(401, 'INVALID_REFRESH_TOKEN', 'The refresh token is invalid, expired or already used');

const authRoutes: FastifyPluginAsyncTypebox<AuthOptions> = async (app, options) => {
  // everything but the secrets
  const { passwordHash, refreshTokenHash, previousRefreshTokenHash, refreshTokenExpiresAt, refreshTokenRotatedAt, ...userColumns } =
    getTableColumns(users);
  const responses = <T extends object>(ok: T) => ({ ...errorResponses, ...ok });

  /** A new session: a refresh token, and the slot values that record it. */
  function newSession() {
    const refreshToken = newRefreshToken();
    const slot = {
      refreshTokenHash: hashRefreshToken(refreshToken),
      refreshTokenExpiresAt: new Date(Date.now() + options.refreshTokenTtl * 1000),
      previousRefreshTokenHash: null,
      refreshTokenRotatedAt: null,
      lastActivityAt: new Date(),
    };
    return { refreshToken, slot };
  }
  const tokenResponse = (refreshToken: string, user: Record<string, unknown> & { id: number; role: string }) => ({
    accessToken: app.signAccessToken({ id: user.id, role: user.role as Role }),
    refreshToken,
    tokenType: 'Bearer' as const,
    expiresIn: options.accessTokenTtl,
    user,
  });

  // two limits on login: per client (the route's config, before the body is read) and per e-mail
  // (here, once it is); the rate-limit plugin runs one limiter per request, so the second is
  // counted with its createRateLimit
  // compare-and-swap: only the request that still finds the presented hash rotates it. Built once:
  // building the SQL text was a third of the refresh's CPU per request (bench/RESULTS.md).
  const rotate = app.db
    .update(users)
    .set({
      refreshTokenHash: sql`${sql.placeholder('next')}`,
      refreshTokenExpiresAt: sql`now() + make_interval(secs => ${options.refreshTokenTtl})`,
      previousRefreshTokenHash: sql`${sql.placeholder('presented')}`,
      refreshTokenRotatedAt: sql`now()`,
      lastActivityAt: nowMs,
      updatedAt: nowMs,
    })
    .where(and(eq(users.refreshTokenHash, sql.placeholder('presented')), gt(users.refreshTokenExpiresAt, sql`now()`), eq(users.isActive, true)))
    .returning(userColumns)
    .prepare('refresh_rotate');

  const perClient = { max: options.loginRateLimitPerClient, timeWindow: '1 minute' };
  const perEmail = app.createRateLimit({
    max: options.loginRateLimit,
    timeWindow: '1 minute',
    keyGenerator: (request) => `login-email:${normalizeEmail((request.body as { email?: string }).email)}`,
  });
  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with e-mail and password',
        security: [],
        body: Strict(
          { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
          { examples: [{ email: 'admin@backoffice.local', password: 'the password printed at the first start' }] },
        ),
        response: responses({ 200: Tokens }),
      },
      config: { access: 'public', rateLimit: perClient },
      preHandler: async (request) => {
        const limit = await perEmail(request);
        if (!limit.isAllowed && limit.isExceeded) {
          throw new HttpError(429, 'RATE_LIMITED', `Too many attempts for this e-mail; try again in ${limit.ttlInSeconds} seconds`, {
            'retry-after': String(limit.ttlInSeconds),
          });
        }
      },
    },
    async (request) => {
      const email = normalizeEmail(request.body.email);
      const [user] = await app.db
        .select({ ...userColumns, passwordHash })
        .from(users)
        .where(eq(sql`lower(${users.email})`, email));
      const check = await verifyPassword(request.body.password, user?.passwordHash);
      if (!user || !check.ok) throw invalidCredentials();
      if (!user.isActive) throw new HttpError(403, 'ACCOUNT_DISABLED', 'This account is deactivated; ask an admin');
      const session = newSession();
      const [updated] = await app.db
        .update(users)
        .set({
          ...session.slot,
          lastLoginAt: new Date(),
          ...(check.needsRehash ? { passwordHash: await hashPassword(request.body.password) } : {}),
        })
        .where(eq(users.id, user.id))
        .returning(userColumns);
      return tokenResponse(session.refreshToken, updated!);
    },
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new pair; the old refresh token stops working',
        security: [],
        body: Strict(
          { refreshToken: Type.String({ minLength: 1, maxLength: 1000 }) },
          { examples: [{ refreshToken: 'the refreshToken of the login response' }] },
        ),
        response: responses({ 200: Tokens }),
      },
      config: { access: 'public' },
    },
    async (request) => {
      const presented = hashRefreshToken(request.body.refreshToken);
      const refreshToken = newRefreshToken();
      const [rotated] = await rotate.execute({ presented, next: hashRefreshToken(refreshToken) });
      if (rotated) return tokenResponse(refreshToken, rotated);
      // a replay of a token that was already rotated: after the grace window, end the session
      const [replayed] = await app.db
        .update(users)
        .set(NO_SESSION)
        .where(
          and(
            eq(users.previousRefreshTokenHash, presented),
            sql`${users.refreshTokenRotatedAt} < now() - make_interval(secs => ${options.refreshReuseGrace})`,
          ),
        )
        .returning({ id: users.id });
      if (replayed) {
        request.log.warn({ userId: replayed.id }, 'rotated refresh token replayed: session revoked');
        app.metrics.refreshTokenReuse();
      }
      throw invalidRefreshToken();
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: { tags: ['auth'], summary: 'End the session: the refresh token stops working', response: responses({ 204: Type.Null() }) },
      config: { access: 'authenticated' },
    },
    async (request, reply) => {
      await endSessions(app.db, request.user.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    { schema: { tags: ['auth'], summary: 'The caller', response: responses({ 200: User }) }, config: { access: 'authenticated' } },
    async (request) => {
      const [user] = await app.db.select(userColumns).from(users).where(eq(users.id, request.user.id));
      if (!user) throw new HttpError(401, 'UNAUTHORIZED', 'The account no longer exists');
      return user;
    },
  );
};

export default authRoutes;
