/**
 * `npm run db:import -- mysql://user:password@host:3306/database [--check]`: copies the old back
 * office's MySQL database into DATABASE_URL (or the embedded PGlite in ./data), or with --check only
 * lists what cannot be carried. Exits 1 when it stops; the MySQL database is only read.
 */
import { databaseTarget, readEnvFile } from '../../config.js';
import { describeTarget } from '../../db/target.js';
import { ImportStopped, runImport } from './import.js';

const USAGE = 'usage: npm run db:import -- mysql://user:password@host:3306/database [--check]';

readEnvFile();
const args = process.argv.slice(2);
const check = args.includes('--check');
const urls = args.filter((a) => a !== '--check');
if (args.includes('--help')) {
  console.log(USAGE);
} else if (urls.length !== 1 || urls.some((a) => a.startsWith('--'))) {
  console.error(USAGE);
  process.exitCode = 1;
} else {
  const target = databaseTarget(process.env);
  try {
    if (!check) console.log(`Importing into ${describeTarget(target)}.`);
    await runImport({ sourceUrl: urls[0]!, target, check, print: (line) => console.log(line) });
  } catch (error) {
    if (error instanceof ImportStopped) {
      console.error(error.message);
    } else {
      console.error(
        `The import stopped: ${withoutPassword(error instanceof Error ? error.message : String(error), urls[0]!)}\nNothing was written: the target is as it was.`,
      );
    }
    process.exitCode = 1;
  }
}

/** A driver's message may quote the source URL: never its password. */
function withoutPassword(message: string, url: string): string {
  const password = URL.canParse(url) ? decodeURIComponent(new URL(url).password) : '';
  return password ? message.replaceAll(password, '***') : message;
}
