/**
 * Authentication and authorisation. Access tokens are short-lived JWTs carrying the user id, role,
 * session id and token version; a token whose claims are no longer the user's (plugins/revocation.ts)
 * is refused like an invalid one. Every route says who may call it in `config.access`, and this one hook enforces it:
 * 'public', 'authenticated', or a resource and action checked against auth/permissions.ts.
 */
import jwt from '@fastify/jwt';
import fp from 'fastify-plugin';
import { may, type Action, type Resource } from '../auth/permissions.js';
import { fromJwtClaims, toJwtClaims, TokenClaims, type JwtClaims } from '../auth/token-claims.js';
import { Compile } from 'typebox/compile';
import { HttpError } from '../errors.js';
import { fieldOf } from '../field-of.js';

export type Access =
  | 'public'
  | 'authenticated'
  | { resource: Resource; action: Action; /** a user may also act on their own record (`:id`) */ self?: boolean };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    signAccessToken(claims: TokenClaims): string;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: JwtClaims;
    user: TokenClaims;
  }
}

/** fast-jwt's code for a token past its `exp` (its TokenError.codes.expired). */
const TOKEN_EXPIRED = 'FAST_JWT_EXPIRED';

/** The token of `Authorization: Bearer <token>`, as @fastify/jwt finds it: the scheme in any case, one space, one token. */
function bearerToken(header: string | undefined): string | undefined {
  const [scheme, token, ...rest] = header?.split(' ') ?? [];
  return scheme?.toLowerCase() === 'bearer' && token && rest.length === 0 ? token : undefined;
}

/** Compiled once: `Value.Check` walks the schema on every call (6 µs, a twentieth of a count's CPU). */
const tokenClaims = Compile(TokenClaims);

export default fp<{ secret: string; accessTokenTtl: number }>(
  async (app, { secret, accessTokenTtl }) => {
    await app.register(jwt, {
      secret,
      sign: { expiresIn: accessTokenTtl, algorithm: 'HS256' },
      // verified tokens are cached (fast-jwt's cache keeps each until it expires)
      // a token without an expiry is refused, even signed with the secret: every token this service issues has one
      verify: { algorithms: ['HS256'], cache: true, requiredClaims: ['exp'] },
      formatUser: fromJwtClaims,
    });
    app.decorate('signAccessToken', (claims: TokenClaims) => app.jwt.sign(toJwtClaims(claims)));

    app.addHook('onRequest', async (request) => {
      const url = request.routeOptions.url;
      if (url === undefined) return; // no such route: 404
      // the API needs a token unless a route says otherwise; the docs UI and its assets do not
      const access = request.routeOptions.config.access ?? (url.startsWith('/api/') ? 'authenticated' : 'public');
      if (access === 'public') return;
      try {
        const token = bearerToken(request.headers.authorization);
        if (!token) throw new Error('no bearer token');
        // the instance's verifier, not request.jwtVerify(): that decodes the token a second time and
        // runs an async waterfall around the same check (4.4 µs against 2, a thirtieth of a count)
        request.user = fromJwtClaims(app.jwt.verify<JwtClaims>(token));
        // signed with the secret but not of the shape this service issues: as invalid as a bad signature
        if (!tokenClaims.Check(request.user)) throw new Error('claims of another shape');
      } catch (error) {
        const expired = fieldOf(error, 'code') === TOKEN_EXPIRED;
        throw new HttpError(401, 'UNAUTHORIZED', expired ? 'The access token has expired' : 'A valid access token is required', {
          'www-authenticate': `Bearer${expired ? ' error="invalid_token"' : ''}`,
        });
      }
      const current = app.revocation.isCurrent(request.user);
      if (current !== true && !(await current)) {
        throw new HttpError(401, 'SESSION_ENDED', 'The session has ended or the account has changed; log in again or refresh', {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      }
      if (access === 'authenticated') return;
      const { id, role } = request.user;
      if (may(role, access.resource, access.action)) return;
      if (access.self && fieldOf(request.params, 'id') === String(id)) return;
      throw new HttpError(403, 'FORBIDDEN', `The role ${role} may not ${access.action} ${access.resource}`);
    });
  },
  { name: 'auth', dependencies: ['errors', 'revocation'] },
);
