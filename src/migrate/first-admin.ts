/**
 * A database with no users gets a first admin, so that a newcomer can log in at once: from
 * ADMIN_EMAIL / ADMIN_PASSWORD when set, otherwise (outside production) with a generated password
 * printed once. An existing user is never touched. Runs under the migration lock, so that of
 * several replicas starting together exactly one creates it.
 */
import { ROLE_LABELS } from '../auth/role-labels.js';
import { generatePassword, hashPassword } from '../auth/passwords.js';
import type { DatabaseClient, Db } from '../db/client.js';
import { users } from '../db/schema.js';

export type FirstAdminResult =
  { created: false; reason: 'users exist' | 'no password in production' } | { created: true; email: string; generatedPassword?: string };

export async function ensureFirstAdmin(
  client: DatabaseClient,
  admin: { email: string; password?: string },
  production: boolean,
): Promise<FirstAdminResult> {
  const [existing] = await client.query<{ n: number }>('select count(*)::int as n from users');
  if (existing && existing.n > 0) return { created: false, reason: 'users exist' };
  if (!admin.password && production) return { created: false, reason: 'no password in production' };
  const generatedPassword = admin.password ? undefined : generatePassword();
  const db: Db = client.db; // either driver's, as one type: a union's builders do not chain
  const inserted = await db
    .insert(users)
    .values({
      email: admin.email,
      name: 'Administrator',
      role: 'admin',
      roleName: ROLE_LABELS.admin,
      passwordHash: await hashPassword(admin.password ?? generatedPassword!),
    })
    .onConflictDoNothing()
    .returning({ id: users.id });
  if (!inserted.length) return { created: false, reason: 'users exist' };
  return { created: true, email: admin.email, generatedPassword };
}
