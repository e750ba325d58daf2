/**
 * Without JWT_SECRET, the embedded database's installation signs access tokens with its own random
 * secret, made on its first start and kept in its data directory: a restart keeps sessions, a copy
 * of the directory carries them, and a token of another installation is refused.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldOf } from '../field-of.js';

export const SECRET_FILE = 'backoffice-jwt-secret';

export function installationSecret(dataDir: string): string {
  const file = join(dataDir, SECRET_FILE);
  try {
    // 'wx': made once; a file already there is kept
    writeFileSync(file, `${randomBytes(48).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (fieldOf(error, 'code') !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}
