/**
 * `npm run user:reset-password -- <email>`: a new password for a user, generated and shown once
 * (or read from stdin with --password-stdin), and the end of that user's sessions. The way back
 * from a lost admin password: ADMIN_PASSWORD only seeds an empty database.
 */
import { existsSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { eq } from 'drizzle-orm';
import { databaseTarget, readEnvFile } from '../config.js';
import { openDatabase, type DatabaseClient, type Db } from '../db/client.js';
import { databaseErrorOf } from '../db/driver-errors.js';
import { databaseProblem, describeTarget } from '../db/target.js';
import { brokenFields, describeBrokenFields } from '../db/rules.js';
import { isRole, ROLES, users } from '../db/schema.js';
import { normalizeEmail } from '../schemas.js';
import { namedBy } from './logins.js';
import { generatePassword, hashPassword } from './passwords.js';
import { endSessions } from './sessions.js';

const USAGE = `Usage: npm run user:reset-password -- <email> [--password-stdin] [--role <role>]

Sets a new password for the user with this e-mail and ends their sessions. Without
--password-stdin the password is generated and printed once; with it, the first line of
stdin is the password (8 to 200 characters). An account from the old back office whose e-mail
has spaces around it is found without them, and its e-mail is stored without them; one whose
role is not one of ${ROLES.join(', ')} needs --role to be given one. Uses DATABASE_URL, or PGlite
in PGLITE_DATA_DIR (stop the service first: one process at a time opens a PGlite directory).`;

/** A refusal that names what to do; the transaction is rolled back. */
class Refused extends Error {}

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
const roleAt = args.indexOf('--role');
const roleGiven = roleAt >= 0 ? args[roleAt + 1] : undefined;
if (roleAt >= 0 && !isRole(roleGiven)) fail(`--role takes one of ${ROLES.join(', ')}; nothing was changed.`);
const role = isRole(roleGiven) ? roleGiven : undefined;
const [email, ...extra] = args.filter((arg, i) => arg !== '--password-stdin' && (roleAt < 0 || (i !== roleAt && i !== roleAt + 1)));
if (!email || email.startsWith('-') || extra.length) fail(USAGE);

const password = fromStdin ? (await text(process.stdin)).split(/\r?\n/)[0]! : generatePassword();
if (password.length < 8 || password.length > 200) fail('The password must have 8 to 200 characters; nothing was changed.');

readEnvFile();
const target = databaseTarget(process.env);
const where = describeTarget(target);
// PGlite would create an empty database in a directory that does not exist
if ('dataDir' in target && !existsSync(target.dataDir))
  fail(`No database in ${target.dataDir}: start the service once (npm start), or set DATABASE_URL.`);

let client: DatabaseClient | undefined;
try {
  client = await openDatabase(target, { max: 1 });
  const passwordHash = await hashPassword(password);
  const wanted = normalizeEmail(email);
  const db: Db = client.db; // either driver's, as one type: a union's builders do not chain
  const user = await db.transaction(async (tx) => {
    const account = namedBy(wanted);
    const [found] = await tx
      .select({ id: users.id, email: users.email, role: users.role, isActive: users.isActive })
      .from(users)
      .where(account.where)
      .orderBy(account.first)
      .limit(1)
      .for('update');
    if (!found) return undefined;
    // the update must leave the row within every rule (PostgreSQL checks them on each update)
    const corrected = { ...found, email: found.email.trim(), ...(role ? { role } : {}) };
    const broken = brokenFields('users', corrected);
    if (broken.length) {
      throw new Refused(
        `${found.email.trim()} cannot be given a password until its account is corrected: ${describeBrokenFields(broken)}. ` +
          (broken.some((f) => f.field === 'role') ? `Give it a role with --role <${ROLES.join('|')}>. ` : '') +
          'Nothing was changed.',
      );
    }
    const [updated] = await tx
      .update(users)
      .set({ passwordHash, ...(corrected.email !== found.email ? { email: corrected.email } : {}), ...(role ? { role } : {}) })
      .where(eq(users.id, found.id))
      .returning({ id: users.id, email: users.email, role: users.role, isActive: users.isActive });
    await endSessions(tx, found.id);
    return { ...updated!, was: found };
  });
  if (!user) {
    console.error(`No user has the e-mail ${wanted} in ${where}; nothing was changed.`);
    process.exitCode = 1;
  } else {
    console.log(
      fromStdin
        ? `Password of ${user.email} set; their sessions are ended.`
        : `New password of ${user.email}: ${password} (shown once); their sessions are ended.`,
    );
    if (user.email !== user.was.email)
      console.log(
        `Its e-mail had spaces around it (${JSON.stringify(user.was.email)}), which the schema does not allow: it is now ${user.email}.`,
      );
    if (user.role !== user.was.role) console.log(`Its role was ${JSON.stringify(user.was.role)}, it is now ${user.role}.`);
    if (!user.isActive)
      console.log(`${user.email} is deactivated: an admin can reactivate the account (PATCH /api/v1/users/${user.id} {"isActive": true}).`);
  }
} catch (error) {
  const code = databaseErrorOf(error)?.code;
  console.error(
    error instanceof Refused
      ? error.message
      : code === '42P01'
        ? `${where} has no users table: run npm run db:migrate first; nothing was changed.`
        : `The password was not changed (${where}): ${databaseProblem(error, target)}`,
  );
  process.exitCode = 1;
} finally {
  await client?.close();
}
