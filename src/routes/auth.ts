/**
 * /api/v1/auth: login, refresh, logout, logout-all, sessions, me. A user holds up to
 * MAX_SESSIONS_PER_USER sessions (devices), in `users.sessions` (auth/sessions.ts); a login beyond
 * that ends the oldest. Refresh rotates one session with a compare-and-swap on its stored hash, so
 * that two concurrent refreshes with one token give exactly one success; a replayed rotated token
 * is refused, and after the grace window it ends that session (RFC 9700, 4.14.2).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  endSession,
  prepareLoginUser,
  prepareReplayRevocation,
  prepareRotation,
  prepareSessionStart,
  readUser,
  sessionHolder,
  storedSessions,
} from '../auth/logins.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { hashRefreshToken, newRefreshToken } from '../auth/refresh-tokens.js';
import { endSessions, newSession, publicSession } from '../auth/sessions.js';
import type { Config } from '../config.js';
import { databaseErrorOf } from '../db/driver-errors.js';
import type { Role } from '../db/schema.js';
import { assertKeepsRules } from '../db/rules.js';
import { HttpError } from '../errors.js';
import { errorResponses, normalizeEmail, Nullable, Strict, Timestamp } from '../schemas.js';
import { User } from '../auth/user-shapes.js';
import { fieldOf } from '../field-of.js';

/** What the auth routes read of the configuration. */
export type AuthOptions = Pick<
  Config,
  'accessTokenTtl' | 'refreshTokenTtl' | 'refreshReuseGrace' | 'loginRateLimit' | 'loginRateLimitPerClient' | 'maxSessionsPerUser'
>;

const Tokens = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  user: User,
});

const Session = Type.Object(
  {
    id: Type.String(),
    device: Nullable(Type.String()),
    createdAt: Timestamp,
    lastRefreshedAt: Nullable(Timestamp),
    expiresAt: Timestamp,
    current: Type.Boolean({ description: 'the session of the access token that asked' }),
  },
  { $id: 'Session', title: 'Session' },
);

/**
 * A legacy account whose row breaks a rule of the schema (an unknown role, an e-mail with spaces
 * around it) cannot be written to until it is corrected, and a login writes to it: say why, and
 * who can put it right. Shown only once the password is right.
 */
function assertAccountUsable(user: Record<string, unknown> & { id: number }) {
  assertKeepsRules(
    'users',
    user,
    {},
    {
      status: 403,
      code: 'ACCOUNT_NEEDS_CORRECTION',
      message: (described) =>
        `This account cannot log in until an admin corrects it (it comes from the old back office): ${described}. ` +
        `An admin can correct it (PATCH /api/v1/users/${user.id}), or reset its password with npm run user:reset-password`,
    },
  );
}

const invalidCredentials = () => new HttpError(401, 'INVALID_CREDENTIALS', 'Invalid email or password');
const invalidRefreshToken = () => new HttpError(401, 'INVALID_REFRESH_TOKEN', 'The refresh token is invalid, expired or already used');

const authRoutes: FastifyPluginAsyncTypebox<AuthOptions> = async (app, options) => {
  const findLoginUser = prepareLoginUser(app.db);
  const startSession = prepareSessionStart(app.db, options.maxSessionsPerUser);
  const rotate = prepareRotation(app.db);
  const revokeReplayed = prepareReplayRevocation(app.db, options.refreshReuseGrace);
  const responses = <T extends object>(ok: T) => ({ ...errorResponses, ...ok });

  const tokenResponse = (
    refreshToken: string,
    { sessionId, tokenVersion, ...user }: Record<string, unknown> & { id: number; role: string; sessionId: string; tokenVersion: number },
  ) => ({
    // cast: users.role is text; users_role_check holds it to ROLES, and a legacy row that breaks it is
    // refused before a token is signed (assertAccountUsable at login, the rotation's update at refresh)
    accessToken: app.signAccessToken({ id: user.id, role: user.role as Role, sessionId, version: tokenVersion }),
    refreshToken,
    tokenType: 'Bearer' as const,
    expiresIn: options.accessTokenTtl,
    user,
  });

  // two limits on login: per client (the route's config, before the body is read) and per e-mail
  // (here, once it is); the rate-limit plugin runs one limiter per request, so the second is
  // counted with its createRateLimit
  const perClient = { max: options.loginRateLimitPerClient, timeWindow: '1 minute' };
  const perEmail = app.createRateLimit({
    max: options.loginRateLimit,
    timeWindow: '1 minute',
    keyGenerator: (request) => `login-email:${normalizeEmail(fieldOf(request.body, 'email'))}`,
  });
  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with e-mail and password: a new session on this device',
        security: [],
        body: Strict(
          {
            email: Type.String({ minLength: 1, maxLength: 254 }),
            password: Type.String({ minLength: 1, maxLength: 200 }),
            device: Type.Optional(
              Type.String({ minLength: 1, maxLength: 100, description: 'a label for the session list (default: the User-Agent)' }),
            ),
          },
          {
            examples: [
              { email: 'admin@backoffice.local', password: 'the password printed at the first start', device: 'packing station 2' },
            ],
          },
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
      const user = await findLoginUser(email);
      const check = await verifyPassword(request.body.password, user?.passwordHash);
      if (!user || !check.ok) throw invalidCredentials();
      assertAccountUsable(user);
      if (!user.isActive) throw new HttpError(403, 'ACCOUNT_DISABLED', 'This account is deactivated; ask an admin');
      const device = request.body.device ?? request.headers['user-agent']?.slice(0, 100) ?? null;
      const session = newSession(options.refreshTokenTtl, device);
      const rehashed = check.needsRehash ? { passwordHash: await hashPassword(request.body.password) } : {};
      const updated = await startSession(user.id, session.stored, rehashed);
      if (!updated) throw new HttpError(403, 'ACCOUNT_DISABLED', 'This account is deactivated; ask an admin');
      return tokenResponse(session.refreshToken, { ...updated, sessionId: session.stored.id });
    },
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: "Exchange a refresh token for a new pair; the old refresh token stops working (this device's session only)",
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
      const now = new Date();
      const [rotated] = await rotate
        .execute({
          presented,
          next: hashRefreshToken(refreshToken),
          now: now.toISOString(),
          expiresAt: new Date(now.getTime() + options.refreshTokenTtl * 1000).toISOString(),
        })
        .catch(async (error: unknown) => {
          // a legacy session of an account that breaks a rule: the rotation's update is refused
          const code = databaseErrorOf(error)?.code;
          if (code === '23514') {
            const holder = await sessionHolder(app.db, presented);
            if (holder) assertAccountUsable(holder);
          }
          throw error;
        });
      if (rotated) return tokenResponse(refreshToken, rotated);
      const [replayed] = await revokeReplayed.execute({ presented });
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
      schema: {
        tags: ['auth'],
        summary: "End this device's session: its refresh and access tokens stop working",
        response: responses({ 204: Type.Null() }),
      },
      config: { access: 'authenticated' },
    },
    async (request, reply) => {
      await endSession(app.db, request.user.id, request.user.sessionId);
      app.revocation.forget(request.user.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/logout-all',
    {
      schema: { tags: ['auth'], summary: 'End every session of the caller, on every device', response: responses({ 204: Type.Null() }) },
      config: { access: 'authenticated' },
    },
    async (request, reply) => {
      await endSessions(app.db, request.user.id);
      app.revocation.forget(request.user.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/sessions',
    {
      schema: { tags: ['auth'], summary: "The caller's sessions, newest first", response: responses({ 200: Type.Array(Session) }) },
      config: { access: 'authenticated' },
    },
    async (request) => {
      const now = Date.now();
      return (await storedSessions(app.db, request.user.id))
        .filter((s) => Date.parse(s.expiresAt) > now)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .map((s) => publicSession(s, request.user.sessionId));
    },
  );

  app.get(
    '/auth/me',
    { schema: { tags: ['auth'], summary: 'The caller', response: responses({ 200: User }) }, config: { access: 'authenticated' } },
    async (request) => {
      const user = await readUser(app.db, request.user.id);
      if (!user) throw new HttpError(401, 'UNAUTHORIZED', 'The account no longer exists');
      return user;
    },
  );
};

export default authRoutes;
