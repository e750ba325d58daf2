/**
 * Watches a database from a second connection while something works on it: the database's size
 * (peak growth), which tables other backends hold AccessExclusiveLock on (first and last time
 * seen), and their longest-running transaction. Samples every ~50 ms, so times are ±50 ms.
 */
import { connect } from './pg.js';

export interface LockSpan {
  /** Seconds since the watch started. */
  from: number;
  to: number;
}

export interface Observation {
  startSize: number;
  peakExtra: number;
  /** Per watched table name. */
  locks: Map<string, LockSpan>;
  /** Longest transaction seen of a backend on the database, in seconds. */
  longestTransaction: number;
}

interface Sample {
  at: number;
  size: number;
  xact: number | null;
  locked: number[];
}

const INTERVAL_MS = 50;

/** `tables`: relation oid -> name of the tables whose exclusive locks are recorded. */
export async function watch(database: string, tables: Map<number, string>) {
  const sql = connect();
  const [{ oid }] = (await sql`select oid::int from pg_database where datname = ${database}`) as unknown as [{ oid: number }];
  const sample = async (): Promise<Sample> => {
    const [row] = await sql`
      select extract(epoch from clock_timestamp())::float8 as at,
             pg_database_size(${oid}::oid)::float8 as size,
             (select max(extract(epoch from clock_timestamp() - xact_start))::float8
                from pg_stat_activity where datid = ${oid}::oid and pid <> pg_backend_pid()) as xact,
             array(select relation::int from pg_locks
                    where locktype = 'relation' and mode = 'AccessExclusiveLock' and granted
                      and database = ${oid}::oid and pid <> pg_backend_pid()) as locked`;
    return row as unknown as Sample;
  };

  const first = await sample();
  const observation: Observation = { startSize: first.size, peakExtra: 0, locks: new Map(), longestTransaction: 0 };
  const record = (s: Sample) => {
    observation.peakExtra = Math.max(observation.peakExtra, s.size - first.size);
    observation.longestTransaction = Math.max(observation.longestTransaction, s.xact ?? 0);
    for (const relation of s.locked) {
      const name = tables.get(relation);
      if (!name) continue;
      const t = s.at - first.at;
      const span = observation.locks.get(name);
      observation.locks.set(name, { from: span?.from ?? t, to: t });
    }
  };

  let running = true;
  const loop = (async () => {
    while (running) {
      record(await sample());
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
    record(await sample());
  })();

  return {
    async stop(): Promise<Observation> {
      running = false;
      try {
        await loop;
      } finally {
        await sql.end();
      }
      return observation;
    },
  };
}
