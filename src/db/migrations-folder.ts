/** Where the chain is: drizzle/ in the package's own directory (src/db/ in development, dist/ once built). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own directory, the nearest holding package.json: src/db/ in development, dist/ or its chunks once built. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const MIGRATIONS_FOLDER = join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'drizzle');
