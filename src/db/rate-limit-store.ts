/**
 * A store for @fastify/rate-limit that counts in the database every replica shares (the UNLOGGED
 * table rate_limits), so that N replicas allow what one does. Fixed windows, as the plugin's own
 * stores count: the first hit of a key opens a window of `timeWindow` ms. Expired rows are
 * deleted at most once a minute by whichever replica counts then.
 *
 * A route whose config says `rateLimitSharing: 'batched'` (the SalesDrive webhook) writes its
 * hits in batches instead of one statement per call: the first hit of a window is counted in the
 * database, the next ones here, and sent together at most every SHARE_EVERY_MS; each send brings
 * back what every replica counted. One replica counts exactly; N replicas may together let
 * through what they admit in SHARE_EVERY_MS beyond the limit. The login's limits stay exact.
 */
import { lt, sql } from 'drizzle-orm';
import { fieldOf } from '../field-of.js';
import type { Db } from './client.js';
import { rateLimits } from './schema.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'batched': this route's rate-limit hits are written to the database in batches (see src/db/rate-limit-store.ts). */
    rateLimitSharing?: 'batched';
  }
}

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

const PURGE_EVERY_MS = 60_000;
export const SHARE_EVERY_MS = 250;

/** A batched key's window, as this replica knows it. */
interface Window {
  /** Date.now() at which it ends. */
  endsAt: number;
  /** The hits of every replica, as the database answered last. */
  shared: number;
  /** Hits counted here and not yet sent. */
  unsent: number;
  timer?: NodeJS.Timeout;
}

export function databaseStore(db: Db) {
  let purgedAt = 0;
  const purge = () => {
    if (Date.now() - purgedAt < PURGE_EVERY_MS) return;
    purgedAt = Date.now();
    db.delete(rateLimits)
      .where(lt(rateLimits.expiresAt, sql`now()`))
      .catch(() => {});
  };

  const expired = sql`${rateLimits.expiresAt} <= now()`;
  const hitsGiven = sql`${sql.placeholder('hits')}::int`;
  // built once: the login's two limits run it on every attempt
  const adding = db
    .insert(rateLimits)
    .values({
      key: sql.placeholder('key'),
      hits: hitsGiven,
      expiresAt: sql`now() + make_interval(secs => ${sql.placeholder('seconds')}::float8)`,
    })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        hits: sql`CASE WHEN ${expired} THEN ${hitsGiven} ELSE ${rateLimits.hits} + ${hitsGiven} END`,
        expiresAt: sql`CASE WHEN ${expired} THEN excluded.expires_at ELSE ${rateLimits.expiresAt} END`,
      },
    })
    .returning({ current: rateLimits.hits, ttl: sql<number>`ceil(extract(epoch from ${rateLimits.expiresAt} - now()) * 1000)::int` })
    .prepare('rate_limit_add');

  /** Adds `hits` to the key's count (a new window if it expired): the count of every replica, and the window's milliseconds left. */
  async function add(key: string, hits: number, timeWindow: number) {
    const [row] = await adding.execute({ key, hits, seconds: timeWindow / 1000 });
    purge();
    return { current: row!.current, ttl: Math.max(0, Number(row!.ttl)) };
  }

  class DatabaseRateLimitStore {
    /** @fastify/rate-limit constructs the store with its global options: a prefix is only given by child(). */
    constructor(
      _globalOptions?: unknown,
      protected readonly prefix = '',
    ) {}

    incr(key: string, callback: Callback, timeWindow: number) {
      add(this.prefix + key, 1, timeWindow).then((result) => callback(null, result), callback);
    }

    /** One store per route (and per createRateLimit): its keys do not meet another's. */
    child(options: object): DatabaseRateLimitStore {
      // the route's merged limit options, with its routeInfo (the plugin's types say RouteOptions)
      const routeInfo = fieldOf(options, 'routeInfo');
      const method = fieldOf(routeInfo, 'method');
      const url = fieldOf(routeInfo, 'url');
      const prefix = typeof method === 'string' && method && typeof url === 'string' && url ? `${method} ${url} ` : '';
      const batched = fieldOf(fieldOf(routeInfo, 'config'), 'rateLimitSharing') === 'batched';
      return batched ? new BatchedStore(undefined, prefix) : new DatabaseRateLimitStore(undefined, prefix);
    }
  }

  class BatchedStore extends DatabaseRateLimitStore {
    private readonly windows = new Map<string, Window>();
    private sweptAt = Date.now();

    override incr(key: string, callback: Callback, timeWindow: number) {
      const window = this.windows.get(key);
      if (!window || Date.now() >= window.endsAt) {
        if (window) clearTimeout(window.timer);
        this.windows.delete(key);
        this.sweep();
        add(this.prefix + key, 1, timeWindow).then(({ current, ttl }) => {
          this.windows.set(key, { endsAt: Date.now() + ttl, shared: current, unsent: 0 });
          callback(null, { current, ttl });
        }, callback);
        return;
      }
      window.unsent++;
      this.sendLater(key, window, timeWindow);
      callback(null, { current: window.shared + window.unsent, ttl: Math.max(0, window.endsAt - Date.now()) });
    }

    private send(key: string, window: Window, timeWindow: number) {
      const hits = window.unsent;
      window.timer = undefined;
      add(this.prefix + key, hits, timeWindow).then(
        ({ current, ttl }) => {
          window.unsent -= hits;
          window.shared = current;
          window.endsAt = Date.now() + ttl;
        },
        // kept unsent, and sent again later unless the window has ended meanwhile
        () => {
          if (Date.now() < window.endsAt) this.sendLater(key, window, timeWindow);
        },
      );
    }

    /** Sends the window's unsent calls SHARE_EVERY_MS from now, unless a send is already due. */
    private sendLater(key: string, window: Window, timeWindow: number) {
      window.timer ??= setTimeout(() => this.send(key, window, timeWindow), SHARE_EVERY_MS).unref();
    }

    /** Forgets the windows that have ended (a key, a client's address, that calls no more), at most once a minute. */
    private sweep() {
      if (Date.now() - this.sweptAt < PURGE_EVERY_MS) return;
      this.sweptAt = Date.now();
      for (const [key, window] of this.windows) {
        if (Date.now() >= window.endsAt && window.timer === undefined) this.windows.delete(key);
      }
    }
  }

  return DatabaseRateLimitStore;
}
