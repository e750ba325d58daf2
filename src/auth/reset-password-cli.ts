/**
 * `npm run user:reset-password -- <email>`: a new password for a user, generated and shown once
 * (or read from stdin with --password-stdin), and the end of that user's sessions. The way back
 * from a lost admin password: ADMIN_PASSWORD only seeds an empty database.
 */
import { existsSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { eq, sql } from 'drizzle-orm';
import { databaseTarget, readEnvFile } from '../config.js';
import { openDatabase, type DatabaseClient } from '../db/client.js';
import { databaseProblem, describeTarget } from '../db/migration-report.js';
import { users } from '../db/schema.js';
import { normalizeEmail } from '../routes/shared.js';
import { generatePassword, hashPassword } from './passwords.js';
import { endSessions } from './sessions.js';

const USAGE = `Usage: npm run user:reset-password -- <email> [--password-stdin]

Sets a new password for the user with this e-mail and ends their sessions. Without
--password-stdin the password is generated and printed once; with it, the first line of
stdin is the password (8 to 200 characters). Uses DATABASE_URL, or PGlite in PGLITE_DATA_DIR
(stop the service first: one process at a time opens a PGlite directory).`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const fromStdin = args.includes('--password-stdin');
const [email, ...extra] = args.filter((arg) => arg !== '--password-stdin');
if (!email || email.startsWith('-') || extra.length) fail(USAGE);

const password = fromStdin ? (await text(process.stdin)).split(/\r?\n/)[0]! : generatePassword();
if (password.length < 8 || password.length > 200) fail('The password must have 8 to 200 characters; nothing was changed.');

readEnvFile();
const target = databaseTarget(process.env);
const where = describeTarget(target);
// PGlite would create an empty database in a directory that does not exist
if ('dataDir' in target && !existsSync(target.dataDir)) fail(`No database in ${target.dataDir}: start the service once (npm start), or set DATABASE_URL.`);

let client: DatabaseClient | undefined;
try {
  client = await openDatabase(target, { max: 1 });
  const passwordHash = await hashPassword(password);
  const user = await client.db.transaction(async (tx) => {
    const [found] = await tx
      .update(users)
      .set({ passwordHash })
      .where(eq(sql`lower(${users.email})`, normalizeEmail(email)))
      .returning({ id: users.id, email: users.email, isActive: users.isActive });
    if (found) await endSessions(tx, found.id);
    return found;
  });
  if (!user) {
    console.error(`No user has the e-mail ${normalizeEmail(email)} in ${where}; nothing was changed.`);
    process.exitCode = 1;
  } else {
    console.log(
      fromStdin
        ? `Password of ${user.email} set; their sessions are ended.`
        : `New password of ${user.email}: ${password} (shown once); their sessions are ended.`,
    );
    if (!user.isActive) console.log(`${user.email} is deactivated: an admin can reactivate the account (PATCH /api/v1/users/${user.id} {"isActive": true}).`);
  }
} catch (error) {
  const code = ((error as { cause?: { code?: string } }).cause ?? (error as { code?: string })).code;
  console.error(
    code === '42P01'
      ? `${where} has no users table: run npm run db:migrate first; nothing was changed.`
      : `The password was not changed (${where}): ${databaseProblem(error, target)}`,
  );
  process.exitCode = 1;
} finally {
  await client?.close();
}
