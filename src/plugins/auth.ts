/**
 * Authentication and authorisation. Access tokens are short-lived JWTs carrying the user id, role,
 * session id and token version; a token whose claims are no longer the user's (plugins/revocation.ts)
 * is refused like an invalid one. Every route says who may call it in `config.access`, and this one hook enforces it:
 * 'public', 'authenticated', or a resource and action checked against auth/permissions.ts.
 */
import jwt from '@fastify/jwt';
import fp from 'fastify-plugin';
import { may, type Action, type Resource } from '../auth/permissions.js';
import type { Role } from '../db/schema.js';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { HttpError } from './errors.js';
import { fieldOf } from '../field-of.js';

export type Access =
  | 'public'
  | 'authenticated'
  | { resource: Resource; action: Action; /** a user may also act on their own record (`:id`) */ self?: boolean };

export interface Caller {
  id: number;
  role: Role;
  /** The refresh-token session the access token was issued for. */
  sessionId: string;
  /** users.token_version when it was issued. */
  version: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    signAccessToken(caller: Caller): string;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role; sid: string; ver: number };
    user: Caller;
  }
}

/** The caller as formatUser makes it from a token's claims, when they are the ones this service signs. */
const Claims = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2147483647 }),
  role: Type.String({ minLength: 1 }),
  sessionId: Type.String({ minLength: 1 }),
  version: Type.Integer({ minimum: 0 }),
});

export default fp<{ secret: string; accessTokenTtl: number }>(
  async (app, { secret, accessTokenTtl }) => {
    await app.register(jwt, {
      secret,
      sign: { expiresIn: accessTokenTtl, algorithm: 'HS256' },
      // verified tokens are cached (fast-jwt's cache keeps each until it expires)
      // a token without an expiry is refused, even signed with the secret: every token this service issues has one
      verify: { algorithms: ['HS256'], cache: true, requiredClaims: ['exp'] },
      // a sub that is not all digits gives NaN, which the check after verification refuses
      formatUser: (payload) => ({
        id: typeof payload.sub === 'string' && /^[0-9]{1,10}$/.test(payload.sub) ? Number(payload.sub) : Number.NaN,
        role: payload.role,
        sessionId: payload.sid,
        version: payload.ver,
      }),
    });
    app.decorate('signAccessToken', (caller: Caller) =>
      app.jwt.sign({ sub: String(caller.id), role: caller.role, sid: caller.sessionId, ver: caller.version }),
    );

    app.addHook('onRequest', async (request) => {
      const url = request.routeOptions.url;
      if (url === undefined) return; // no such route: 404
      // the API needs a token unless a route says otherwise; the docs UI and its assets do not
      const access = request.routeOptions.config.access ?? (url.startsWith('/api/') ? 'authenticated' : 'public');
      if (access === 'public') return;
      try {
        await request.jwtVerify();
        // signed with the secret but not of the shape this service issues: as invalid as a bad signature
        if (!Value.Check(Claims, request.user)) throw new Error('claims of another shape');
      } catch (error) {
        const expired = fieldOf(error, 'code') === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED';
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
