/**
 * A store for @fastify/rate-limit that counts in the database every replica shares (the UNLOGGED
 * table rate_limits), so that N replicas allow what one does. Fixed windows, as the plugin's own
 * stores count: the first hit of a key opens a window of `timeWindow` ms. Expired rows are
 * deleted at most once a minute by whichever replica counts then.
 */
import { lt, sql } from 'drizzle-orm';
import { fieldOf } from '../field-of.js';
import type { Db } from './client.js';
import { rateLimits } from './schema.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

const PURGE_EVERY_MS = 60_000;

export function databaseStore(db: Db) {
  let purgedAt = 0;
  const purge = () => {
    if (Date.now() - purgedAt < PURGE_EVERY_MS) return;
    purgedAt = Date.now();
    db.delete(rateLimits)
      .where(lt(rateLimits.expiresAt, sql`now()`))
      .catch(() => {});
  };

  return class DatabaseRateLimitStore {
    /** @fastify/rate-limit constructs the store with its global options: a prefix is only given by child(). */
    constructor(
      _globalOptions?: unknown,
      private readonly prefix = '',
    ) {}

    incr(key: string, callback: Callback, timeWindow: number) {
      const expired = sql`${rateLimits.expiresAt} <= now()`;
      db.insert(rateLimits)
        .values({ key: this.prefix + key, hits: 1, expiresAt: sql`now() + make_interval(secs => ${timeWindow / 1000})` })
        .onConflictDoUpdate({
          target: rateLimits.key,
          set: {
            hits: sql`CASE WHEN ${expired} THEN 1 ELSE ${rateLimits.hits} + 1 END`,
            expiresAt: sql`CASE WHEN ${expired} THEN excluded.expires_at ELSE ${rateLimits.expiresAt} END`,
          },
        })
        .returning({ current: rateLimits.hits, ttl: sql<number>`ceil(extract(epoch from ${rateLimits.expiresAt} - now()) * 1000)::int` })
        .then(([row]) => callback(null, { current: row!.current, ttl: Math.max(0, Number(row!.ttl)) }), callback);
      purge();
    }

    /** One store per route (and per createRateLimit): its keys do not meet another's. */
    child(options: object) {
      // the route's merged limit options, with its routeInfo (the plugin's types say RouteOptions)
      const routeInfo = fieldOf(options, 'routeInfo');
      const method = fieldOf(routeInfo, 'method');
      const url = fieldOf(routeInfo, 'url');
      return new DatabaseRateLimitStore(
        undefined,
        typeof method === 'string' && method && typeof url === 'string' && url ? `${method} ${url} ` : '',
      );
    }
  };
}
