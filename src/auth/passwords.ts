/**
 * Password hashes: argon2id at OWASP's parameters for every new hash (the library's defaults:
 * m=19456 KiB, t=2, p=1); the legacy bcrypt hashes still verify, and are replaced at the next
 * successful login.
 */
import { randomBytes } from 'node:crypto';

// native modules, loaded when first needed rather than at every start
const argon2 = () => import('@node-rs/argon2');
const bcrypt = () => import('@node-rs/bcrypt');

export const hashPassword = async (password: string) => (await argon2()).hash(password);

/** A password for a person to type once and then change: 16 characters, 96 random bits. */
export const generatePassword = () => randomBytes(12).toString('base64url');

const isBcrypt = (hash: string) => /^\$2[abxy]\$/.test(hash);

let dummyHash: Promise<string> | undefined;
/**
 * A hash of nothing anyone knows, verified for unknown e-mails so they cost what a real check
 * costs. Made once, by the first such login or, before that, when the server listens (it is 20 MiB
 * of argon2 work, a tenth of a start's CPU, that nothing before the first login needs).
 */
export const prepareDummyHash = () => (dummyHash ??= hashPassword(`no-such-user-${randomBytes(16).toString('hex')}`));

export interface Verification {
  ok: boolean;
  /** The stored hash is of an older kind and should be replaced by a new hash of this password. */
  needsRehash: boolean;
}

export async function verifyPassword(password: string, stored: string | undefined): Promise<Verification> {
  if (stored === undefined) {
    const [{ verify }, hash] = await Promise.all([argon2(), prepareDummyHash()]);
    await verify(hash, password).catch(() => false);
    return { ok: false, needsRehash: false };
  }
  try {
    if (isBcrypt(stored)) return { ok: await (await bcrypt()).verify(password, stored), needsRehash: true };
    return { ok: await (await argon2()).verify(stored, password), needsRehash: false };
  } catch {
    return { ok: false, needsRehash: false }; // a malformed stored hash matches nothing
  }
}
