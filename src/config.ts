import type { DatabaseTarget } from './db/client.js';

/** DATABASE_URL when set; otherwise the embedded PGlite database in PGLITE_DATA_DIR (default ./data). */
export function databaseTarget(env: NodeJS.ProcessEnv): DatabaseTarget {
  const url = env.DATABASE_URL?.trim();
  return url ? { url } : { dataDir: env.PGLITE_DATA_DIR?.trim() || './data' };
}
