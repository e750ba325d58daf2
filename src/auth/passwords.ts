/**
 * Password hashes: argon2id at OWASP's parameters for every new hash (the library's defaults:
 * m=19456 KiB, t=2, p=1); the legacy bcrypt hashes still verify, and are replaced at the next
 * successful login.
 */
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { randomBytes } from 'node:crypto';

export const hashPassword = (password: string) => argon2Hash(password);

/** A password for a person to type once and then change: 16 characters, 96 random bits. */
export const generatePassword = () => randomBytes(12).toString('base64url');

const isBcrypt = (hash: string) => /^\$2[abxy]\$/.test(hash);

/** A hash of nothing anyone knows, verified for unknown e-mails so they cost what a real check costs. */
const dummyHash = hashPassword(`no-such-user-${Math.random()}`);

export interface Verification {
  ok: boolean;
  /** The stored hash is of an older kind and should be replaced by a new hash of this password. */
  needsRehash: boolean;
}

export async function verifyPassword(password: string, stored: string | undefined): Promise<Verification> {
  if (stored === undefined) {
    await argon2Verify(await dummyHash, password).catch(() => false);
    return { ok: false, needsRehash: false };
  }
  try {
    if (isBcrypt(stored)) return { ok: await bcryptVerify(password, stored), needsRehash: true };
    return { ok: await argon2Verify(stored, password), needsRehash: false };
  } catch {
    return { ok: false, needsRehash: false }; // a malformed stored hash matches nothing
  }
}
