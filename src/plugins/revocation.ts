/**
 * Is an access token still good? It carries the user's token version, role and session id; each
 * replica keeps, per user, what the database says of these, and refuses a token that no longer
 * matches: a deactivation, a role change, a new password or a logout takes effect on the next
 * request, on every replica, without a database read per request.
 *
 * The cache is kept current by PostgreSQL: a trigger on `users` NOTIFYs `auth_changes` with the
 * user's id in the transaction of the change (migration 0005_sessions), and every replica LISTENs and forgets
 * that user. When the channel is not known to work (not yet listening, reconnecting after a drop,
 * or this replica's own heartbeat NOTIFY not heard back), nothing is cached and every check reads
 * the database; once it listens again the cache starts empty, since notifications sent meanwhile
 * were lost.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import fp from 'fastify-plugin';
import { claimsMatch, userStateSelection, type TokenClaims, type UserState } from '../auth/token-claims.js';
import type { Listener } from '../db/client.js';
import { users } from '../db/schema.js';

export const AUTH_CHANNEL = 'auth_changes';

declare module 'fastify' {
  interface FastifyInstance {
    revocation: {
      /**
       * True when the token's claims are the user's current ones: sync when the cache says so;
       * otherwise (not cached, or the cache knows no such session yet) the database decides.
       */
      isCurrent(claims: TokenClaims): boolean | Promise<boolean>;
      /** This replica changed the user: forget them now, not when the NOTIFY comes back. */
      forget(userId: number): void;
    };
  }
}

const HEARTBEAT_MS = 2000;
/** Not hearing our own heartbeat for this long means the channel cannot be trusted. */
const HEARTBEAT_LOST_MS = 3 * HEARTBEAT_MS;
/** …and this long: give up on the connection and listen on a new one. */
const RESUBSCRIBE_AFTER_MS = 5 * HEARTBEAT_MS;
const MAX_CACHED_USERS = 10_000;

export default fp(
  async (app) => {
    const cache = new Map<number, UserState>();
    let live = false;
    // bumped whenever anything is forgotten: a read that began before must not be cached
    let epoch = 0;
    const forget = (id?: number) => {
      epoch++;
      if (id === undefined) cache.clear();
      else cache.delete(id);
    };

    const read = app.db
      .select(userStateSelection)
      .from(users)
      .where(eq(users.id, sql.placeholder('id')))
      .prepare('auth_user_state');

    async function load(claims: TokenClaims) {
      const began = epoch;
      const [row] = await read.execute({ id: claims.id });
      const state: UserState | undefined = row && { ...row, sessions: new Set(row.sessions) };
      if (state && live && epoch === began) {
        if (cache.size >= MAX_CACHED_USERS) cache.delete(cache.keys().next().value!);
        cache.set(claims.id, state);
      }
      return claimsMatch(state, claims);
    }

    const heartbeat = `ping:${randomUUID()}`;
    let heardAt = 0;
    let listener: Listener | undefined;
    let subscribing: Promise<void> | undefined;
    const onNotify = (payload: string) => {
      if (payload === heartbeat) {
        if (!live) app.log.info('auth_changes channel answers again');
        heardAt = Date.now();
        live = true;
      } else if (!payload.startsWith('ping:')) forget(Number(payload));
    };
    const onListen = () => {
      // (re)listening: whatever was sent while not listening is lost
      forget();
      heardAt = Date.now();
      live = true;
    };
    const subscribe = () =>
      (subscribing ??= app.database
        .listen(AUTH_CHANNEL, onNotify, onListen)
        .then(
          (started) => void (listener = started),
          (error: Error) => app.log.warn(`cannot LISTEN on ${AUTH_CHANNEL} (${error.message}): tokens are checked against the database`),
        )
        .finally(() => (subscribing = undefined)));
    const goCold = (why: string) => {
      if (live) app.log.warn(`auth_changes channel ${why}: checking tokens against the database until it answers`);
      live = false;
      forget();
    };

    const timer = setInterval(() => {
      const silentFor = Date.now() - heardAt;
      if (silentFor > HEARTBEAT_LOST_MS) goCold('silent');
      if (listener && silentFor > RESUBSCRIBE_AFTER_MS) {
        // postgres.js has not brought the channel back by itself: start again on a new connection
        void listener.stop().catch(() => {});
        listener = undefined;
      }
      if (!listener) void subscribe();
      else listener.notify(heartbeat).catch(() => {});
    }, HEARTBEAT_MS);
    timer.unref();
    // listening begins while the other plugins register; the server listens once it has
    const subscribed = subscribe();
    app.addHook('onReady', () => subscribed);
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await subscribing;
      await listener?.stop().catch(() => {});
    });

    app.decorate('revocation', {
      isCurrent(claims: TokenClaims) {
        return (live && claimsMatch(cache.get(claims.id), claims)) || load(claims);
      },
      forget,
    });
  },
  { name: 'revocation', dependencies: ['db'] },
);
