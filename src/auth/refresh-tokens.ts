/** Refresh tokens are long random opaque strings; only their SHA-256 is ever stored. */
import { createHash, randomBytes } from 'node:crypto';

export const newRefreshToken = () => randomBytes(32).toString('base64url');
export const hashRefreshToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
